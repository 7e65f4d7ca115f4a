// The fault tier: the real server and worker processes against a real
// PostgreSQL while the database or the network misbehaves. Each scenario
// runs a storm through the verification kit (common/verify) and holds it to
// every invariant: exact caps, approved_count = approved rows, each
// application leaves pending exactly once (audit trigger), nothing
// acknowledged is lost, FCFS as fcfs.h defines it, and attempts charged only
// to applications that failed. Every wait is bounded; none is a sleep
// standing in for synchronisation (the terminator's pauses are its pace).

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/db/connect.h"
#include "common/db/migrator.h"
#include "gtest/gtest.h"
#include "support/fault_proxy.h"
#include "support/poll.h"
#include "support/stack.h"
#include "support/storm.h"
#include "support/test_postgres.h"

namespace campaignq::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr auto kStormTimeout = seconds(180);
constexpr auto kDecideTimeout = seconds(180);

int64_t Count(const std::string& url, const std::string& sql) {
  pqxx::connection connection(url);
  pqxx::nontransaction txn(connection);
  return txn.exec(sql)[0][0].as<int64_t>();
}

// `url` (a postgresql:// URI, as the test server's is) logging in as `user`.
std::string WithUser(const std::string& url, const std::string& user) {
  const size_t authority = url.find("://") + 3;
  const size_t at = url.find('@', authority);
  const size_t path = url.find('/', authority);
  const size_t user_end =
      at != std::string::npos && (path == std::string::npos || at < path) ? at + 1 : authority;
  return absl::StrCat(url.substr(0, authority), user, "@", url.substr(user_end));
}

// The storm's end: everything decided, every invariant held, every Apply
// acknowledged.
void ExpectStormKeptEveryPromise(Stack& stack, const std::vector<ApplyRecord>& records,
                                 verify::VerifyOptions options = {}) {
  ASSERT_TRUE(WaitUntilDecided(stack, records, Deadline(kDecideTimeout)));
  const verify::Verdict verdict = VerifyStorm(stack, records, options);
  ExpectAllHold(verdict);
  ExpectAllAcknowledged(records);
  std::cout << "storm: " << verdict.applicants << " applicants, " << verdict.acknowledged
            << " acknowledged, " << verdict.decided << " decided, " << verdict.seat_releases
            << " seats given back by cancels, violations " << verdict.violations.size() << "\n";
}

// PostgreSQL itself dies (-m immediate: every backend killed, crash
// recovery at the next start) twice in the middle of a storm. Health goes
// NOT_SERVING and back; server and workers reconnect by themselves; callers
// retrying the same user get exactly one application each.
TEST(Faults, PostgresStoppedImmediatelyAndRestartedTwiceMidStorm) {
  OwnPostgres postgres;
  ExecSql(postgres.url(), "CREATE DATABASE campaignq");
  Stack stack("pg_restart", UrlWithDatabase(postgres.url(), "campaignq"));
  stack.StartServer();
  InstallDecisionAudit(stack);
  const auto campaigns = CreateCampaigns(stack, 8, 60, "faults");
  for (int i = 0; i < 3; ++i) stack.StartWorker({"skip-locked", 2, 10});

  auto records = Applicants(campaigns, 6000);
  verify::StormCounters counters;
  std::atomic<bool> storm_done{false};
  std::thread storm([&] {
    RunApplyStorm(stack, records, 16, Deadline(kStormTimeout), /*cancel_fraction=*/0.05, &counters);
    storm_done = true;
  });
  for (int restart = 1; restart <= 2; ++restart) {
    WaitForStormProgress(counters, records.size(), restart / 3.0);
    EXPECT_FALSE(storm_done) << "restart " << restart << " would not land mid-storm";
    postgres.StopImmediately();
    EXPECT_TRUE(PollUntil([&] { return !stack.Serving(); }, Deadline(seconds(30))))
        << "health stayed SERVING with PostgreSQL down";
    postgres.Start();
    EXPECT_TRUE(PollUntil([&] { return stack.Serving(); }, Deadline(seconds(60))))
        << "health did not come back after PostgreSQL restarted";
    std::cout << "restart " << restart << " done; storm still running: " << !storm_done << "\n";
  }
  storm.join();
  // The storm saw the outages: some of its Applies had to be retried.
  EXPECT_GE(std::count_if(records.begin(), records.end(),
                          [](const ApplyRecord& record) { return record.attempts > 1; }),
            1);
  ExpectStormKeptEveryPromise(stack, records);
  stack.StopWorkers();
  stack.StopServer();
}

// Random campaignq sessions are terminated every 50-200 ms for the whole
// storm: Apply batches, decide transactions, listeners, health pings.
TEST(Faults, SessionsTerminatedThroughoutTheStorm) {
  Stack stack("terminated");
  stack.StartServer();
  InstallDecisionAudit(stack);
  const auto campaigns = CreateCampaigns(stack, 8, 60, "faults");
  for (int i = 0; i < 3; ++i) stack.StartWorker({"skip-locked", 2, 10});

  auto records = Applicants(campaigns, 4000);
  std::atomic<bool> storm_done{false};
  std::thread storm([&] {
    RunApplyStorm(stack, records, 16, Deadline(kStormTimeout), /*cancel_fraction=*/0.05);
    storm_done = true;
  });
  // Until the storm is over and decided: Applies, decisions, cancels.
  int terminated = 0;
  {
    pqxx::connection admin(stack.database_url());
    absl::BitGen random;
    auto pending = [&] {
      pqxx::nontransaction txn(admin);
      return txn.exec("SELECT count(*) FROM applications WHERE status = 'pending'")[0][0]
          .as<int64_t>();
    };
    const auto deadline = Deadline(kStormTimeout + kDecideTimeout);
    while ((!storm_done || pending() > 0) && Clock::now() < deadline) {
      pqxx::nontransaction txn(admin);
      terminated += txn.exec_params(
                           "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM ("
                           "  SELECT pid FROM pg_stat_activity"
                           "  WHERE datname = current_database() AND pid <> pg_backend_pid()"
                           "    AND application_name LIKE $1 ORDER BY random() LIMIT 1) victim",
                           "campaignq-%")[0][0]
                        .as<int>();
      std::this_thread::sleep_for(milliseconds(absl::Uniform(random, 50, 200)));  // the pace
    }
  }
  storm.join();
  std::cout << "terminated " << terminated << " campaignq sessions\n";
  EXPECT_GE(terminated, 10);
  ExpectStormKeptEveryPromise(stack, records);
  stack.StopWorkers();
  stack.StopServer();
}

// A TCP proxy between the binaries and PostgreSQL cuts connections right
// after forwarding a COMMIT, before its answer: the server's Apply batches
// and the workers' decide batches committed, but their senders never learn
// it. Apply callers get UNKNOWN, retry the same user and are told
// ALREADY_EXISTS naming their own application; workers reconnect and the
// status guards make their next claim safe.
TEST(Faults, CommitsCutAfterForwardingDecideNothingTwiceAndLoseNothing) {
  Stack stack("commit_cut");
  auto upstream = FaultProxy::ServerOf(stack.database_url());
  ASSERT_TRUE(upstream.ok()) << upstream.status();
  FaultProxy proxy(upstream->host, upstream->port);
  ASSERT_TRUE(proxy.Start().ok());
  auto through = proxy.Through(stack.database_url());
  ASSERT_TRUE(through.ok()) << through.status();
  stack.set_process_database_url(*through);
  stack.StartServer();
  InstallDecisionAudit(stack);
  const auto campaigns = CreateCampaigns(stack, 6, 60, "faults");

  // Phase 1: Apply batches' commits are cut (no worker runs yet).
  constexpr int kCutsEach = 6;
  proxy.CutAfterCommit(kCutsEach, "campaignq-server");
  auto records = Applicants(campaigns, 1500);
  RunApplyStorm(stack, records, 16, Deadline(kStormTimeout));
  const int64_t apply_cuts = proxy.counters().commits_cut;
  EXPECT_EQ(apply_cuts, kCutsEach) << "fewer Apply batches than cuts: a bigger storm";
  // Phase 2: the workers' decide commits are cut.
  proxy.CutAfterCommit(kCutsEach, "campaignq-worker");
  for (int i = 0; i < 2; ++i) stack.StartWorker({"skip-locked", 2, 10});
  EXPECT_TRUE(proxy.WaitFor([&](const auto& c) { return c.commits_cut >= apply_cuts + kCutsEach; },
                            seconds(90)))
      << "not every decide commit cut";
  std::cout << "commits seen " << proxy.counters().commits_seen << ", cut "
            << proxy.counters().commits_cut << " (" << apply_cuts << " of Apply batches)\n";
  int unknown_then_acknowledged = 0;
  for (const auto& record : records) {
    if (record.attempts > 1 && record.acknowledged) ++unknown_then_acknowledged;
  }
  std::cout << unknown_then_acknowledged << " Applies acknowledged after a retry\n";
  EXPECT_GE(unknown_then_acknowledged, 1) << "no caller saw its commit cut";
  ExpectStormKeptEveryPromise(stack, records);
  stack.StopWorkers();
  stack.StopServer();
}

// A worker whose connection was silently reset once is frozen (SIGSTOP, as
// a paused container or a stalled VM: the host answers, keepalives do not
// fire) inside a decide transaction. PostgreSQL ends its session after
// idle_in_transaction_session_timeout, which the reconnect kept: the
// campaign is free again within the timeout + 1 s, another worker decides
// it, and the frozen one, resumed, decides nothing twice.
TEST(Faults, FrozenWorkerLosesItsCampaignWithinTheIdleTimeout) {
  Stack stack("frozen");
  stack.StartServer();
  InstallDecisionAudit(stack);
  const int64_t campaign = CreateCampaign(stack, "frozen", 40);
  constexpr int kIdleTimeoutMs = 2000;
  const std::vector<std::string> frozen_flags{
      absl::StrCat("--idle-in-transaction-timeout=", kIdleTimeoutMs, "ms")};
  const int frozen = stack.StartWorker({"skip-locked", 1, 5, frozen_flags});

  pqxx::connection admin(stack.database_url());
  auto worker_sessions = [&] {
    pqxx::nontransaction txn(admin);
    std::vector<int> pids;
    for (const auto& row :
         txn.exec_params("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                         "AND application_name = $1 ORDER BY pid",
                         "campaignq-worker")) {
      pids.push_back(row[0].as<int>());
    }
    return pids;
  };
  // The silent reset: its sessions die; it reconnects on its own.
  // Its threads connect after it reports ready: wait for the sessions.
  std::vector<int> first;
  ASSERT_TRUE(
      PollUntil([&] { return !(first = worker_sessions()).empty(); }, Deadline(seconds(30))));
  for (int pid : first) {
    pqxx::nontransaction(admin).exec_params("SELECT pg_terminate_backend($1)", pid);
  }
  // Decisions are slow from here (a trigger), so that the worker is caught
  // inside a decide transaction.
  ExecSql(stack.database_url(), R"sql(
    CREATE FUNCTION test_slow_decision() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_sleep(0.05); RETURN NEW; END $$;
    CREATE TRIGGER test_slow_decision BEFORE UPDATE ON applications
      FOR EACH ROW WHEN (OLD.status = 'pending') EXECUTE FUNCTION test_slow_decision();
  )sql");
  auto records = Applicants({campaign}, 100);
  RunApplyStorm(stack, records, 8, Deadline(seconds(60)));

  // Catch its session inside the decide statement, asleep in the trigger
  // (after the reconnect: none of the first pids), then freeze the process.
  // By the wait event, not the statement text: pg_stat_activity keeps only
  // the first track_activity_query_size bytes of it.
  int victim = 0;
  ASSERT_TRUE(PollUntil(
      [&] {
        pqxx::nontransaction txn(admin);
        const pqxx::result active = txn.exec_params(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = $1 AND state = 'active' AND wait_event = 'PgSleep'",
            "campaignq-worker");
        if (active.empty()) return false;
        victim = active[0][0].as<int>();
        return std::find(first.begin(), first.end(), victim) == first.end();
      },
      Deadline(seconds(60)), milliseconds(5)));
  ASSERT_TRUE(stack.worker(frozen)->Signal(SIGSTOP).ok());
  const auto frozen_at = Clock::now();
  // Freed: the session is gone and the campaign row can be locked at once.
  ASSERT_TRUE(PollUntil(
      [&] {
        pqxx::work txn(admin);
        if (!txn.exec_params("SELECT 1 FROM pg_stat_activity WHERE pid = $1", victim).empty()) {
          return false;
        }
        try {
          txn.exec_params("SELECT id FROM campaigns WHERE id = $1 FOR NO KEY UPDATE NOWAIT",
                          campaign);
          return true;
        } catch (const pqxx::sql_error&) {
          return false;
        }
      },
      Deadline(seconds(30)), milliseconds(10)));
  const auto freed_after =
      std::chrono::duration_cast<milliseconds>(Clock::now() - frozen_at).count();
  std::cout << "campaign freed " << freed_after << " ms after the freeze (timeout "
            << kIdleTimeoutMs << " ms)\n";
  // The statement in progress (<= 5 rows x 50 ms) ends before the idle
  // timer starts; then the timeout, then at most 1 s.
  EXPECT_LE(freed_after, kIdleTimeoutMs + 250 + 1000);

  ExecSql(stack.database_url(), "DROP TRIGGER test_slow_decision ON applications");
  stack.StartWorker({"skip-locked", 2, 10});
  ASSERT_TRUE(WaitUntilDecided(stack, records, Deadline(kDecideTimeout)));
  ASSERT_TRUE(stack.worker(frozen)->Signal(SIGCONT).ok());
  // The resumed worker finds its session gone, reconnects and goes on: its
  // next claims see nothing pending and decide nothing twice (audit).
  auto more = Applicants({campaign}, 20, "after-");
  RunApplyStorm(stack, more, 4, Deadline(seconds(60)));
  records.insert(records.end(), more.begin(), more.end());
  ExpectStormKeptEveryPromise(stack, records);
  stack.StopWorkers();
  stack.StopServer();
}

// A role that says serializable by default, a 50 ms statement_timeout and
// a 10 ms lock_timeout (a hostile DBA, or a managed service's defaults):
// campaignq states READ COMMITTED itself, shrinks decide batches that time
// out, and retries what the lock timeout refuses. Every invariant holds and
// every application is decided.
TEST(Faults, HostileRoleSettings) {
  Stack stack("hostile");
  {
    auto connection = db::Connect(stack.database_url(), {});
    ASSERT_TRUE(connection.ok()) << connection.status();
    ASSERT_TRUE(db::Migrate(**connection, db::MigrateMode::kAuto).ok());
  }
  const std::string role = absl::StrCat("cq_hostile_", ::getpid());
  ExecSql(stack.database_url(),
          absl::StrCat("CREATE ROLE ", role, " LOGIN SUPERUSER;", "ALTER ROLE ", role,
                       " SET default_transaction_isolation = 'serializable';", "ALTER ROLE ", role,
                       " SET statement_timeout = '50ms';", "ALTER ROLE ", role,
                       " SET lock_timeout = '10ms';"));
  // Each decided row costs 1 ms: a batch of 100 exceeds the timeout.
  ExecSql(stack.database_url(), R"sql(
    CREATE FUNCTION test_costly_decision() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_sleep(0.001); RETURN NEW; END $$;
    CREATE TRIGGER test_costly_decision BEFORE UPDATE ON applications
      FOR EACH ROW WHEN (OLD.status = 'pending') EXECUTE FUNCTION test_costly_decision();
  )sql");
  const std::string hostile_url = WithUser(stack.database_url(), role);
  stack.set_process_database_url(hostile_url);
  stack.StartServer({"--migrate=verify"});
  InstallDecisionAudit(stack);
  const auto campaigns = CreateCampaigns(stack, 6, 80, "faults");
  auto records = Applicants(campaigns, 1200);
  // Applies first, so that the workers meet full-size batches.
  RunApplyStorm(stack, records, 16, Deadline(kStormTimeout));
  for (int i = 0; i < 2; ++i) stack.StartWorker({"skip-locked", 2, 100, {"--migrate=verify"}});
  auto cancels = Applicants(campaigns, 300, "late-");
  RunApplyStorm(stack, cancels, 8, Deadline(kStormTimeout), /*cancel_fraction=*/0.2);
  records.insert(records.end(), cancels.begin(), cancels.end());
  ExpectStormKeptEveryPromise(stack, records);
  const std::string worker_log =
      ReadTextFile(stack.worker(0)->stderr_path()) + ReadTextFile(stack.worker(1)->stderr_path());
  EXPECT_TRUE(absl::StrContains(worker_log, "batch timed out")) << "no batch ever shrank";
  stack.StopWorkers();
  stack.StopServer();
  ExecSql(stack.database_url(), absl::StrCat("DROP OWNED BY ", role, "; DROP ROLE ", role));
}

// For two seconds every decision fails with SQLSTATE 53200 (out of
// memory): a fault of the database, not of any application. Nobody is
// charged an attempt, and everything is decided once it passes.
TEST(Faults, ResourceFaultChargesNoApplication) {
  Stack stack("resource");
  stack.StartServer();
  InstallDecisionAudit(stack);
  const auto campaigns = CreateCampaigns(stack, 4, 50, "faults");
  auto records = Applicants(campaigns, 400);
  RunApplyStorm(stack, records, 16, Deadline(kStormTimeout));
  ExecSql(stack.database_url(), R"sql(
    CREATE TABLE test_fault_window (until timestamptz NOT NULL);
    GRANT SELECT ON test_fault_window TO PUBLIC;  -- read in the workers' sessions
    INSERT INTO test_fault_window VALUES (clock_timestamp() + interval '2 seconds');
    CREATE FUNCTION test_out_of_memory() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF clock_timestamp() < (SELECT until FROM test_fault_window) THEN
        RAISE EXCEPTION 'out of memory (injected)' USING ERRCODE = '53200';
      END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER test_out_of_memory BEFORE UPDATE ON applications
      FOR EACH ROW WHEN (OLD.status = 'pending') EXECUTE FUNCTION test_out_of_memory();
  )sql");
  for (int i = 0; i < 2; ++i) stack.StartWorker({"skip-locked", 4, 20, {"--max-attempts=2"}});
  ExpectStormKeptEveryPromise(stack, records);  // (h): nobody may be charged
  EXPECT_EQ(Count(stack.database_url(), "SELECT count(*) FROM applications WHERE attempts > 0"), 0);
  stack.StopWorkers();
  stack.StopServer();
}

// A deterministic poison row decided by 2 processes x 8 threads: every
// thread converges on it, and it alone ends failed, after exactly
// --max-attempts charges; nothing behind it is charged.
TEST(Faults, PoisonRowFailsAloneUnderSixteenThreads) {
  Stack stack("poison16");
  stack.StartServer();
  InstallDecisionAudit(stack);
  ExecSql(stack.database_url(), R"sql(
    CREATE FUNCTION test_refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.user_id = 'poison' AND OLD.status = 'pending' AND NEW.status <> 'failed'
         AND NEW.status <> 'pending' THEN
        RAISE EXCEPTION 'poison application refused' USING ERRCODE = 'P0001';
      END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER test_refuse_poison BEFORE UPDATE ON applications
      FOR EACH ROW EXECUTE FUNCTION test_refuse_poison();
  )sql");
  const int64_t campaign = CreateCampaign(stack, "poisoned", 30, /*waitlist=*/false);
  auto records = Applicants({campaign}, 120);
  records[10].user_id = "poison";
  RunApplyStorm(stack, records, 8, Deadline(kStormTimeout));
  for (int i = 0; i < 2; ++i) stack.StartWorker({"skip-locked", 8, 25});
  verify::VerifyOptions options;
  options.may_be_charged = {"poison"};
  ExpectStormKeptEveryPromise(stack, records, options);
  pqxx::connection check(stack.database_url());
  pqxx::nontransaction txn(check);
  const auto poison =
      txn.exec("SELECT status, attempts FROM applications WHERE user_id = 'poison'")[0];
  EXPECT_EQ(poison[0].as<std::string>(), "failed");
  EXPECT_EQ(poison[1].as<int>(), 3);
  EXPECT_EQ(txn.exec("SELECT count(*) FROM applications WHERE attempts > 0 "
                     "AND user_id <> 'poison'")[0][0]
                .as<int>(),
            0);
  EXPECT_EQ(txn.exec("SELECT count(*) FROM applications WHERE status = 'failed'")[0][0].as<int>(),
            1);
  stack.StopWorkers();
  stack.StopServer();
}

// A REPEATABLE READ transaction held open elsewhere for the whole storm
// holds back the xmin horizon: dead rows cannot be cleaned up and the
// claim's index scans pass over them. The storm still finishes with every
// invariant (bench/run reports the slowdown factor).
TEST(Faults, LongRepeatableReadTransactionHeldOpenDuringAStorm) {
  Stack stack("xmin_held");
  stack.StartServer();
  InstallDecisionAudit(stack);
  const auto campaigns = CreateCampaigns(stack, 10, 100, "faults");
  pqxx::connection holder(stack.database_url());
  pqxx::transaction<pqxx::repeatable_read> snapshot(holder);
  snapshot.exec("SELECT count(*) FROM applications");  // the snapshot is taken here
  for (int i = 0; i < 2; ++i) stack.StartWorker({"skip-locked", 4, 50});
  auto records = Applicants(campaigns, 2000);
  RunApplyStorm(stack, records, 32, Deadline(kStormTimeout));
  ExpectStormKeptEveryPromise(stack, records);
  EXPECT_EQ(snapshot.exec("SELECT count(*) FROM applications")[0][0].as<int>(), 0)
      << "the held snapshot moved: the test held nothing back";
  snapshot.abort();
  stack.StopWorkers();
  stack.StopServer();
}

}  // namespace
}  // namespace campaignq::testing
