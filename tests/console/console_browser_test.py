#!/usr/bin/python3
"""Browser tier: the web console (docs/console.md) in real headless Chromium.

Starts PostgreSQL (a throwaway cluster, or a fresh database on
CAMPAIGNQ_TEST_DATABASE_URL), campaignq-server with --console-listen=127.0.0.1:0
and two campaignq-worker processes; opens the console and checks, by reading
the page (DOM), never by sleeping:
  - a storm of 2,000 Applies over 5 campaigns shows intermediate fills (a bar
    strictly between 0 and the cap, recorded by a MutationObserver on the
    bars) and ends with each campaign's approved count equal to the
    database's;
  - a killed worker is shown as gone;
  - a poison application shows on the Failed page (and is retried from the
    page once the build offers retry);
  - close from the Campaign page (with its confirmation) closes it;
  - the page made no request to any host but the console.
Screenshots of each page go to the test's temporary directory (printed), and
to --docs-dir when given (docs/console/*.png).

Usage: console_browser_test.py --bin-dir BUILD_DIR [--docs-dir DIR]
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

PG_BIN = os.environ.get("CAMPAIGNQ_POSTGRES_BIN_DIR", "/usr/lib/postgresql/15/bin")
CAMPAIGNS = 5
APPLICANTS = 2000
CAP = 150


def log(*args):
    print("console_browser_test:", *args, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_postgres(cmd):
    return (["runuser", "-u", "postgres", "--"] + cmd) if os.getuid() == 0 else cmd


class Postgres:
    """A throwaway cluster, or a fresh database on CAMPAIGNQ_TEST_DATABASE_URL."""

    def __init__(self, tmp):
        self.data = None
        base = os.environ.get("CAMPAIGNQ_TEST_DATABASE_URL")
        if not base:
            root = os.path.join(tmp, "pg")
            os.makedirs(root)
            os.chmod(tmp, 0o755)
            os.chmod(root, 0o755)
            if os.getuid() == 0:
                shutil.chown(root, "postgres", "postgres")
            self.data = os.path.join(root, "data")
            subprocess.run(as_postgres([f"{PG_BIN}/initdb", "-D", self.data, "--auth=trust",
                                        "--username=postgres", "--encoding=UTF8", "--locale=C",
                                        "--no-sync"]), check=True, stdout=subprocess.DEVNULL)
            port = free_port()
            opts = (f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root}"
                    " -c fsync=off -c synchronous_commit=off -c max_connections=200")
            subprocess.run(as_postgres([f"{PG_BIN}/pg_ctl", "start", "-D", self.data, "-w", "-t", "60",
                                        "-l", os.path.join(root, "log"), "-o", opts]),
                           check=True, stdout=subprocess.DEVNULL)
            base = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        self.admin_url = base
        self.name = f"campaignq_console_{os.getpid()}"
        self.psql(f"DROP DATABASE IF EXISTS {self.name}", url=base)
        self.psql(f"CREATE DATABASE {self.name}", url=base)
        parts = urllib.parse.urlsplit(base)
        self.url = urllib.parse.urlunsplit(parts._replace(path="/" + self.name))

    def psql(self, sql, url=None):
        out = subprocess.run([f"{PG_BIN}/psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                              "-d", url or self.url, "-c", sql],
                             check=True, capture_output=True, text=True)
        return out.stdout.strip()

    def stop(self):
        try:
            self.psql(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)", url=self.admin_url)
        except subprocess.CalledProcessError:
            pass
        if self.data:
            subprocess.run(as_postgres([f"{PG_BIN}/pg_ctl", "stop", "-D", self.data, "-m", "immediate",
                                        "-w"]), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_server(bin_dir, db_url, tmp):
    out = open(os.path.join(tmp, "server.out"), "w+")
    err = open(os.path.join(tmp, "server.log"), "w")
    proc = subprocess.Popen([os.path.join(bin_dir, "server", "campaignq-server"),
                             f"--database-url={db_url}", "--listen=127.0.0.1:0", "--migrate=auto",
                             "--console-listen=127.0.0.1:0"], stdout=out, stderr=err)
    deadline = time.monotonic() + 60
    console = grpc = None
    while time.monotonic() < deadline and grpc is None:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited {proc.returncode}; see {err.name}")
        out.seek(0)
        for line in out.read().splitlines():
            if line.startswith("campaignq-server console on "):
                console = line.rsplit(" ", 1)[1]
            if line.startswith("campaignq-server listening on "):
                grpc = line.rsplit(" ", 1)[1]
        time.sleep(0.05)  # waiting for a child's output line, not for a state
    if grpc is None or console is None:
        raise RuntimeError("server did not print its addresses")
    return proc, grpc, console


def start_worker(bin_dir, db_url, tmp, n):
    return subprocess.Popen([os.path.join(bin_dir, "worker", "campaignq-worker"),
                             f"--database-url={db_url}", "--migrate=verify", "--concurrency=2"],
                            stdout=open(os.path.join(tmp, f"worker-{n}.out"), "w"),
                            stderr=open(os.path.join(tmp, f"worker-{n}.log"), "w"))


def cli(bin_dir, grpc, *args):
    out = subprocess.run([os.path.join(bin_dir, "client", "campaignq"), f"--server={grpc}", "--json",
                          *args], check=True, capture_output=True, text=True)
    return out.stdout


def browser(tmp):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,800", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-default-apps",
                f"--user-data-dir={os.path.join(tmp, 'chromium')}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def wait(driver, what, predicate, timeout=60):
    try:
        # Live pages replace rows as snapshots arrive: a row read mid-update is
        # read again at the next poll.
        return WebDriverWait(driver, timeout, poll_frequency=0.1,
                             ignored_exceptions=(StaleElementReferenceException,)).until(
                                 lambda d: predicate(d))
    except TimeoutException:
        raise AssertionError(f"timed out waiting for {what}")


RECORD_FILLS = """
window.__fills = [];
const record = (bar) => {
  const row = bar.closest('tr');
  if (!row || bar.dataset.approved === undefined) return;
  window.__fills.push({id: Number(row.dataset.campaign), approved: Number(bar.dataset.approved),
                       cap: bar.dataset.cap === '' ? null : Number(bar.dataset.cap)});
};
new MutationObserver((mutations) => {
  for (const m of mutations) {
    if (m.type === 'attributes' && m.target.classList.contains('bar')) record(m.target);
    for (const n of m.addedNodes || []) {
      if (n.querySelectorAll) n.querySelectorAll('.bar').forEach(record);
    }
  }
}).observe(document.body, {subtree: true, childList: true, attributes: true,
                           attributeFilter: ['data-approved']});
"""


def shot(driver, tmp, shots, name):
    path = os.path.join(tmp, f"{name}.png")
    driver.save_screenshot(path)
    shots.append(path)
    log("screenshot", path)


def run(args, tmp):
    shots = []
    pg = Postgres(tmp)
    procs = []
    driver = None
    try:
        server, grpc, console = start_server(args.bin_dir, pg.url, tmp)
        procs.append(server)
        workers = [start_worker(args.bin_dir, pg.url, tmp, n) for n in (1, 2)]
        procs += workers
        base = f"http://{console}"
        log("console at", base, "grpc at", grpc)

        driver = browser(tmp)
        driver.get(base + "/#/")
        wait(driver, "the live stream", lambda d: d.find_element(By.ID, "live").text.startswith("live"))
        wait(driver, "two workers alive",
             lambda d: d.find_element(By.ID, "stat-workers").text.startswith("2"))
        # Keyboard: the first Tab reaches the skip link.
        driver.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
        assert driver.switch_to.active_element.get_attribute("class") == "skip"
        driver.execute_script("document.activeElement.blur()")

        # --- storm -----------------------------------------------------------------------
        driver.execute_script(RECORD_FILLS)
        storm = subprocess.Popen([os.path.join(args.bin_dir, "client", "campaignq"), f"--server={grpc}",
                                  "storm", f"--campaigns={CAMPAIGNS}", f"--applicants={APPLICANTS}",
                                  f"--cap={CAP}", "--concurrency=8", f"--database-url={pg.url}"],
                                 stdout=open(os.path.join(tmp, "storm.out"), "w"),
                                 stderr=subprocess.STDOUT)
        # Screenshot mid-storm: some bar strictly between 0 and the cap.
        wait(driver, "a partly filled bar", lambda d: any(
            0 < f["approved"] < (f["cap"] or 0) for f in d.execute_script("return window.__fills")))
        shot(driver, tmp, shots, "overview-storm")
        assert storm.wait(timeout=300) == 0, f"storm failed: see {tmp}/storm.out"
        rows = pg.psql("SELECT id, approved_count, max_participants FROM campaigns ORDER BY id")
        expected = {int(r.split("|")[0]): int(r.split("|")[1]) for r in rows.splitlines()}
        assert len(expected) == CAMPAIGNS, rows

        def shown(d):
            return {int(r.get_attribute("data-campaign")):
                    int(r.find_element(By.CLASS_NAME, "bar").get_attribute("data-approved"))
                    for r in d.find_elements(By.CSS_SELECTOR, "#campaign-rows tr[data-campaign]")}
        wait(driver, f"the page to show the database's counts {expected}",
             lambda d: shown(d) == expected)
        fills = driver.execute_script("return window.__fills")
        intermediate = [f for f in fills if f["cap"] and 0 < f["approved"] < f["cap"]]
        assert intermediate, "the page never showed a partly filled campaign"
        log(f"recorded {len(fills)} bar updates, {len(intermediate)} strictly between 0 and the cap;",
            "final", shown(driver))
        shot(driver, tmp, shots, "overview")

        # Phone width: nothing wider than the screen outside the scrolling tables.
        driver.set_window_size(390, 844)
        wait(driver, "a narrow layout", lambda d: d.execute_script(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1"), timeout=10)
        shot(driver, tmp, shots, "overview-phone")
        driver.set_window_size(1280, 800)

        # --- campaign page -----------------------------------------------------------------
        first = min(expected)
        driver.get(f"{base}/#/campaign/{first}")
        wait(driver, "the campaign page", lambda d: d.find_elements(By.CSS_SELECTOR, "#fill-chart path"))
        wait(driver, "applications listed",
             lambda d: d.find_elements(By.CSS_SELECTOR, "tr[data-application]"))
        # The status filter: only approved rows.
        driver.find_element(By.ID, "status-filter").send_keys("approved")
        wait(driver, "approved rows only", lambda d: {
            r.get_attribute("data-status") for r in d.find_elements(By.CSS_SELECTOR, "tr[data-application]")
        } == {"approved"})
        shot(driver, tmp, shots, "campaign")

        # --- workers: kill one, see it gone ------------------------------------------------------
        driver.get(f"{base}/#/workers")
        wait(driver, "two alive workers", lambda d: len(
            d.find_elements(By.CSS_SELECTOR, "tr[data-state='alive']")) == 2)
        victim = workers[0]
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        wait(driver, f"worker pid {victim.pid} shown gone", lambda d: any(
            r.get_attribute("data-state") == "gone" and f":{victim.pid}:" in r.get_attribute("data-worker")
            for r in d.find_elements(By.CSS_SELECTOR, "tr[data-worker]")), timeout=60)
        shot(driver, tmp, shots, "workers")

        # --- failed: a poison application ----------------------------------------------------
        pg.psql("""
          CREATE FUNCTION test_refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN
            -- Refuses only the decision: recording an attempt or the failure passes.
            IF NEW.user_id = 'poison' AND NEW.status IN ('approved', 'waitlisted', 'rejected') THEN
              RAISE EXCEPTION 'poison application refused' USING ERRCODE = 'P0001';
            END IF;
            RETURN NEW;
          END $$;
          CREATE TRIGGER test_refuse_poison BEFORE UPDATE ON applications
            FOR EACH ROW EXECUTE FUNCTION test_refuse_poison();""")
        campaign = json.loads(cli(args.bin_dir, grpc, "create-campaign", "--name=poisoned", "--cap=5"))
        poison = json.loads(cli(args.bin_dir, grpc, "apply", f"--campaign={campaign['id']}", "--user=poison"))
        driver.get(f"{base}/#/failed")
        row_css = f"tr[data-application='{poison['id']}']"
        # The page re-renders the list when the failed count changes: every
        # read and click finds the row afresh (stale rows are read again).
        wait(driver, "the poison application with its last_error on the Failed page",
             lambda d: any("poison application refused" in r.text
                           for r in d.find_elements(By.CSS_SELECTOR, row_css)), timeout=90)
        shot(driver, tmp, shots, "failed")
        has_retry = wait(driver, "the row's action cell", lambda d: [
            len(d.find_element(By.CSS_SELECTOR, row_css).find_elements(By.TAG_NAME, "button"))])[0]
        if has_retry:
            pg.psql("DROP TRIGGER test_refuse_poison ON applications")
            wait(driver, "a click on Retry", lambda d: d.find_element(By.CSS_SELECTOR, row_css)
                 .find_element(By.TAG_NAME, "button").click() or True)
            wait(driver, "the retried application decided", lambda d: pg.psql(
                f"SELECT status FROM applications WHERE id = {poison['id']}") == "approved", timeout=60)
            log("retried from the page and decided")
        else:
            log("retry is not in this build: checked that the failed application is shown")

        # --- close, with its confirmation ----------------------------------------------------
        driver.get(f"{base}/#/campaign/{first}")
        button = wait(driver, "the close button", lambda d: d.find_element(
            By.XPATH, "//button[starts-with(normalize-space(.), 'Close campaign')]"))
        button.click()
        WebDriverWait(driver, 10).until(lambda d: d.switch_to.alert).accept()
        wait(driver, "the campaign closed", lambda d: d.find_element(By.ID, "campaign-status").text == "closed")
        assert pg.psql(f"SELECT status FROM campaigns WHERE id = {first}") == "closed"

        # --- no request to any host but the console ---------------------------------------------
        hosts = set()
        for entry in driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message.get("method") == "Network.requestWillBeSent":
                url = urllib.parse.urlsplit(message["params"]["request"]["url"])
                # Chromium's own pages (chrome://new-tab-page and the like)
                # never leave the machine; everything else counts.
                if url.scheme in ("data", "about", "blob", "chrome", "chrome-untrusted", "devtools"):
                    continue
                hosts.add(f"{url.scheme}://{url.netloc}")
        assert hosts == {base}, f"requests to {hosts}, expected only {base}"
        log("every request went to", console)
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, f"console errors: {errors}"

        if args.docs_dir:
            os.makedirs(args.docs_dir, exist_ok=True)
            for path in shots:
                shutil.copy(path, args.docs_dir)
            log("copied screenshots to", args.docs_dir)
    finally:
        if driver is not None:
            driver.quit()
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        pg.stop()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir", required=True)
    parser.add_argument("--docs-dir")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="campaignq-console-test.")
    log("artifacts in", tmp)
    start = time.monotonic()
    try:
        run(args, tmp)
    except Exception as error:  # the report, then a failing exit
        log("FAILED:", error)
        log("logs and screenshots kept in", tmp)
        raise
    # Keep the artifacts (screenshots, logs); drop the database cluster and
    # the browser profile, which are large.
    for bulky in ("pg", "chromium"):
        shutil.rmtree(os.path.join(tmp, bulky), ignore_errors=True)
    log(f"passed in {time.monotonic() - start:.1f}s; screenshots in {tmp}")
    print("1 passed, 0 failed")


if __name__ == "__main__":
    sys.exit(main())
