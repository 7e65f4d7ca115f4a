// campaignq-bench: drives campaignq's own binaries through the benchmark's
// workloads (W1, W2, W2-hot, W4, Apply, W3, scaling, soak, pressure; bench/RESULTS.md)
// and prints one RESULT line per run. bench/run calls it; see bench/RESULTS.md for what each number
// means.
//
//   campaignq-bench migrate --db URL --worker BIN --logdir DIR
//   campaignq-bench drain   --db URL --worker BIN --logdir DIR --label L --run R
//                           --campaigns M --cap C(0: none) --apps N --dist interleaved|zipf
//                           --procs P --threads T --batch B [--expect-approved K]
//                           [--paused-share F]
//   campaignq-bench apply   --db URL --server BIN --logdir DIR --label L --run R
//                           --callers 64 --seconds 10 --campaigns 20
//   campaignq-bench apply-batch --db URL --server BIN --logdir DIR --label L --run R
//                           --callers 4 --batch-items 1000 --seconds 10 --campaigns 20
//   campaignq-bench latency --db URL --server BIN --worker BIN --logdir DIR --label L --run R
//                           --rate 500 --seconds 20 --procs P --threads T --batch B --campaigns 20
//   campaignq-bench soak    --db URL --server BIN --worker BIN --logdir DIR --minutes 10
//                           --rate 1000 (see soak.cc)
//   campaignq-bench pressure --scenario pinned|overload|chaos --db URL --server BIN
//                           --worker BIN --logdir DIR (see pressure.cc)
//   campaignq-bench stats   --db URL --server BIN --logdir DIR --decided 10000000
//                           --campaigns 10000 --open 100 --pending 100 --waitlisted 100
//                           --repeat 200
//   campaignq-bench position --db URL --server BIN --logdir DIR --pending 1000000
//                           --repeat 500 (see position.cc)
//   campaignq-bench report  --results FILE --floor CSV --json OUT --svg OUT [--peers FILE]

#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "campaignq/v1/campaignq.grpc.pb.h"
#include "common/verify/apply.h"
#include "common/verify/checks.h"
#include "common/verify/process.h"
#include "driver.h"
#include "procs.h"

namespace bench {
int Report(const std::map<std::string, std::string>& flags);    // report.cc
int Soak(const std::map<std::string, std::string>& flags);      // soak.cc
int Pressure(const std::map<std::string, std::string>& flags);  // pressure.cc
int Position(const std::map<std::string, std::string>& flags);  // position.cc
}  // namespace bench

namespace {

using namespace std::chrono_literals;
namespace v1 = campaignq::v1;
using namespace bench;
namespace verify = campaignq::verify;

// --- seeding and verification ----------------------------------------------

// Empties campaignq's tables and seeds M campaigns and N pending applications
// (interleaved: application i on campaign ((i-1) mod M)+1; zipf: campaign
// drawn Zipf(s=1), cap = half of its applications). Returns them as the
// kit's records (verify::RecordsInIdOrder): all were stored before the
// workers started, so id order is their arrival order.
std::vector<verify::ApplyRecord> Seed(pqxx::connection& c, const std::string& db, long campaigns,
                                      long cap, long apps, const std::string& dist) {
  Exec(c, "TRUNCATE applications, campaigns RESTART IDENTITY");
  if (dist == "interleaved") {
    Exec(c,
         "INSERT INTO campaigns (id, name, max_participants, waitlist) OVERRIDING SYSTEM VALUE "
         "SELECT g, 'bench-' || g, " +
             (cap > 0 ? std::to_string(cap) : std::string("NULL")) +
             ", false FROM generate_series(1, " + std::to_string(campaigns) + ") g");
    Exec(c, "INSERT INTO applications (campaign_id, user_id) SELECT ((g - 1) % " +
                std::to_string(campaigns) + ") + 1, g::text FROM generate_series(1, " +
                std::to_string(apps) + ") g ORDER BY g");
  } else if (dist == "zipf") {
    std::vector<double> cdf(campaigns);
    double sum = 0;
    for (long k = 0; k < campaigns; ++k) cdf[k] = (sum += 1.0 / static_cast<double>(k + 1));
    std::mt19937_64 rng(42);
    std::uniform_real_distribution<double> u(0, sum);
    std::vector<long> per(campaigns, 0);
    std::string list = "{";
    for (long i = 0; i < apps; ++i) {
      long k = std::lower_bound(cdf.begin(), cdf.end(), u(rng)) - cdf.begin();
      if (k >= campaigns) k = campaigns - 1;
      per[k]++;
      if (i) list += ',';
      list += std::to_string(k + 1);
    }
    list += '}';
    std::string caps = "{";
    for (long k = 0; k < campaigns; ++k) {
      if (k) caps += ',';
      caps += std::to_string(std::max(1L, per[k] / 2));
    }
    caps += '}';
    pqxx::work w(c);
    w.exec_params(
        "INSERT INTO campaigns (id, name, max_participants, waitlist) OVERRIDING SYSTEM VALUE "
        "SELECT k, 'bench-' || k, cap, false FROM unnest($1::int[]) WITH ORDINALITY AS t(cap, k)",
        caps);
    w.exec_params(
        "INSERT INTO applications (campaign_id, user_id) "
        "SELECT cid, i::text FROM unnest($1::bigint[]) WITH ORDINALITY AS t(cid, i) ORDER BY i",
        list);
    w.commit();
  } else {
    throw std::runtime_error("unknown --dist " + dist);
  }
  Exec(c, "VACUUM ANALYZE campaigns");
  Exec(c, "VACUUM ANALYZE applications");
  std::vector<int64_t> ids(campaigns);
  for (long k = 0; k < campaigns; ++k) ids[k] = k + 1;
  auto records = verify::RecordsInIdOrder(db, ids);
  if (!records.ok()) throw std::runtime_error(std::string(records.status().message()));
  Exec(c, "CHECKPOINT");
  return *std::move(records);
}

// The verification kit's checks (common/verify/checks.h) on the records'
// campaigns, plus the workload's own expectations (-1: none); empty when
// all hold. The decision audit is not installed: its INSERT per decision
// would be measured too.
std::string Verify(const std::string& db, const std::vector<verify::ApplyRecord>& records,
                   bool expect_decided, long expect_total, long expect_approved,
                   long* approved_out) {
  verify::VerifyOptions options;
  options.expect_decided = expect_decided;
  options.require_audit = false;
  absl::StatusOr<verify::Verdict> verdict = verify::Verify(db, records, options);
  if (!verdict.ok()) return std::string(verdict.status().message()) + "; ";
  const verify::CampaignTally& totals = verdict->totals;
  if (approved_out) *approved_out = totals.approved;
  std::ostringstream e;
  for (const std::string& violation : verdict->violations) e << violation << "; ";
  if (expect_total >= 0 && totals.rows != expect_total) {
    e << totals.rows << " applications, expected " << expect_total << "; ";
  }
  if (expect_approved >= 0 && totals.approved != expect_approved) {
    e << totals.approved << " approved, expected " << expect_approved << " (rejected "
      << totals.rejected_full << "); ";
  }
  return e.str();
}

// --- commands -----------------------------------------------------------------

int Migrate(const Flags& f) {
  auto w = Spawn(Get(f, "worker"),
                 {"--database-url=" + Get(f, "db"), "--migrate=auto", "--concurrency=1"},
                 Get(f, "logdir") + "/migrate-worker.log");
  WaitForLine(*w, "campaignq-worker ready", 60s);
  Stop(*w, 15s);
  return 0;
}

// W1 / W2 / W2-hot / scaling: seed, CHECKPOINT, t0, start workers, poll the
// counters every 20 ms until nothing is pending (t1), verify. With
// --hold-xmin 1, a REPEATABLE READ transaction on another connection holds
// its snapshot from before t0 to after t1 (a long report or a forgotten
// session): the xmin horizon stays back, no dead row can be cleaned up, and
// the claim's index scans pass over every row decided since.
int Drain(const Flags& f) {
  Result res(Get(f, "label"), GetInt(f, "run", 1));
  long campaigns = GetInt(f, "campaigns", 20), cap = GetInt(f, "cap", 0),
       apps = GetInt(f, "apps", 20000), procs = GetInt(f, "procs", 2),
       threads = GetInt(f, "threads", 4);
  std::string dist = Get(f, "dist", "interleaved");
  res.Add("apps", std::to_string(apps));
  res.Add("campaigns", std::to_string(campaigns));
  res.Add("procs", std::to_string(procs));
  res.Add("threads", std::to_string(threads));
  res.Add("batch", Get(f, "batch", "500"));
  pqxx::connection c(Get(f, "db"));
  auto seed_start = Clock::now();
  const std::vector<verify::ApplyRecord> records =
      Seed(c, Get(f, "db"), campaigns, cap, apps, dist);
  res.Add("seed_s", Seconds(Clock::now() - seed_start));
  // --paused-share F: the first F x M campaigns are paused before the
  // workers start (issue 19, defect 9: their rows, interleaved with the
  // others', end up owning the head of the pending index). Measured is the
  // drain of the other campaigns; then they are resumed and drained too, so
  // that every row is verified.
  const double paused_share = std::stod(Get(f, "paused-share", "0"));
  long measured = apps;
  if (paused_share > 0) {
    pqxx::work w(c);
    const auto paused = static_cast<long>(static_cast<double>(campaigns) * paused_share);
    w.exec_params("UPDATE campaigns SET paused = true WHERE id <= $1", paused);
    measured -=
        w.exec_params1("SELECT count(*) FROM applications WHERE campaign_id <= $1", paused)[0]
            .as<long>();
    w.commit();
    res.Add("paused_campaigns", std::to_string(paused));
  }
  pid_t pm = Postmaster(c);
  double pg0 = ClusterCpuSeconds(pm);
  std::unique_ptr<pqxx::connection> holder;
  std::unique_ptr<pqxx::transaction<pqxx::repeatable_read>> held_snapshot;
  if (GetInt(f, "hold-xmin", 0) != 0) {
    holder = std::make_unique<pqxx::connection>(Get(f, "db"));
    held_snapshot = std::make_unique<pqxx::transaction<pqxx::repeatable_read>>(*holder);
    held_snapshot->exec("SELECT count(*) FROM applications");  // the snapshot is taken here
  }

  auto t0 = Clock::now();
  auto workers = StartWorkers(f, procs, threads, Get(f, "label") + "-r" + Get(f, "run", "1"));
  auto deadline = t0 + std::chrono::seconds(GetInt(f, "timeout", 600));
  Clock::time_point t1;
  for (;;) {
    if (t1 == Clock::time_point() && DecidedByCounters(c) >= measured) {
      t1 = Clock::now();
      if (measured == apps) break;
      pqxx::work w(c);
      w.exec("UPDATE campaigns SET paused = false WHERE paused");
      w.commit();
    }
    if (t1 != Clock::time_point() && DecidedByCounters(c) >= apps) break;
    for (auto& w : workers) {
      if (!w->Running()) {
        res.Print(false,
                  "a worker exited while applications were pending (log " + w->stderr_path() + ")");
        StopAll(workers);
        return 1;
      }
    }
    if (Clock::now() > deadline) {
      res.Print(false, "timeout: applications still pending");
      StopAll(workers);
      return 1;
    }
    std::this_thread::sleep_for(20ms);
  }
  double secs = Seconds(t1 - t0);
  res.Add("measured_apps", std::to_string(measured));
  double worker_cpu = 0;
  long worker_rss = 0;
  for (auto& w : workers) {
    worker_cpu += ProcessCpuSeconds(w->pid());
    worker_rss = std::max(worker_rss, PeakRssKib(w->pid()));
  }
  double pg_cpu = ClusterCpuSeconds(pm) - pg0;
  StopAll(workers);
  held_snapshot.reset();  // rolls back: the horizon moves on
  long approved = 0;
  std::string error =
      Verify(Get(f, "db"), records, true, apps, GetInt(f, "expect-approved", -1), &approved);
  res.Add("approved", std::to_string(approved));
  res.Add("seconds", secs);
  res.Add("value", measured / secs);
  res.Add("unit", "decisions/s");
  res.Add("worker_rss_kib", std::to_string(worker_rss));
  res.Add("worker_cpu_ms_per_1k", worker_cpu * 1000 / (apps / 1000.0));
  res.Add("pg_cpu_ms_per_1k", pg_cpu * 1000 / (apps / 1000.0));
  res.Print(error.empty(), error);
  return error.empty() ? 0 : 1;
}

// What Apply and ApplyBatch report alike: stored applications per second and
// the cost of each 1,000.
void AddApplyThroughput(Result& res, long applies, double secs, long server_rss_kib,
                        double server_cpu, double pg_cpu) {
  res.Add("applies", std::to_string(applies));
  res.Add("seconds", secs);
  res.Add("value", applies / secs);
  res.Add("unit", "applies/s");
  res.Add("server_rss_kib", std::to_string(server_rss_kib));
  res.Add("server_cpu_ms_per_1k", server_cpu * 1000 / (applies / 1000.0));
  res.Add("pg_cpu_ms_per_1k", pg_cpu * 1000 / (applies / 1000.0));
}

// ApplyBatch throughput: C callers, one channel each, send ApplyBatch calls
// of B distinct users (spread over M uncapped campaigns) for a fixed time;
// no workers run. Every application a reply names must be a committed row,
// and nothing else (bench/apply-batch runs it beside the floor and Apply).
int ApplyBatch(const Flags& f) {
  Result res(Get(f, "label"), GetInt(f, "run", 1));
  long callers = GetInt(f, "callers", 4), campaigns = GetInt(f, "campaigns", 20);
  long batch = GetInt(f, "batch-items", 1000);
  double seconds = std::stod(Get(f, "seconds", "10"));
  pqxx::connection c(Get(f, "db"));
  Exec(c, "TRUNCATE applications, campaigns RESTART IDENTITY");
  Server server = StartServer(f, Get(f, "label") + "-r" + Get(f, "run", "1"));
  auto stubs = Stubs(server.address, callers);
  CreateCampaigns(*stubs[0], campaigns);
  Exec(c, "CHECKPOINT");
  pid_t pm = Postmaster(c);
  double pg0 = ClusterCpuSeconds(pm), sv0 = ProcessCpuSeconds(server.child->pid());
  std::atomic<long> stored{0}, refused{0}, calls{0};
  std::mutex err_mu;
  std::string first_error;
  auto start = Clock::now();
  auto end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> threads;
  for (long t = 0; t < callers; ++t) {
    threads.emplace_back([&, t] {
      for (long i = 0; Clock::now() < end; ++i) {
        campaignq::v1::ApplyBatchRequest request;
        for (long k = 0; k < batch; ++k) {
          auto* item = request.add_requests();
          item->set_campaign_id((t + k) % campaigns + 1);
          item->set_user_id("b" + std::to_string(t) + "-" + std::to_string(i) + "-" +
                            std::to_string(k));
        }
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + 30s);
        campaignq::v1::ApplyBatchResponse response;
        const grpc::Status status = stubs[t]->ApplyBatch(&context, request, &response);
        std::string error;
        if (!status.ok()) {
          error = std::to_string(status.error_code()) + ":" + status.error_message();
        } else {
          calls++;
          for (const auto& result : response.results()) {
            if (result.has_application()) {
              stored++;
            } else {
              refused++;
              if (error.empty()) error = result.error().message();
            }
          }
        }
        if (!error.empty()) {
          std::lock_guard<std::mutex> l(err_mu);
          if (first_error.empty()) first_error = error;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  double secs = Seconds(Clock::now() - start);
  double server_cpu = ProcessCpuSeconds(server.child->pid()) - sv0;
  double pg_cpu = ClusterCpuSeconds(pm) - pg0;
  long server_rss = PeakRssKib(server.child->pid());
  Stop(*server.child, 20s);
  std::string error;
  const long rows =
      pqxx::nontransaction(c).exec("SELECT count(*) FROM applications")[0][0].as<long>();
  if (rows != stored.load()) {
    error =
        std::to_string(rows) + " rows stored, " + std::to_string(stored.load()) + " acknowledged";
  }
  if (refused || !first_error.empty()) {
    error += " " + std::to_string(refused.load()) + " refused, first " + first_error;
  }
  res.Add("callers", std::to_string(callers));
  res.Add("batch_items", std::to_string(batch));
  res.Add("calls", std::to_string(calls.load()));
  AddApplyThroughput(res, stored.load(), secs, server_rss, server_cpu, pg_cpu);
  res.Print(error.empty(), error);
  return error.empty() ? 0 : 1;
}

// Apply throughput: C callers (one channel per 8) Apply distinct users to M
// uncapped campaigns for a fixed time; no workers run. Every OK reply must be
// a committed row.
int Apply(const Flags& f) {
  Result res(Get(f, "label"), GetInt(f, "run", 1));
  long callers = GetInt(f, "callers", 64), campaigns = GetInt(f, "campaigns", 20);
  double seconds = std::stod(Get(f, "seconds", "10"));
  pqxx::connection c(Get(f, "db"));
  Exec(c, "TRUNCATE applications, campaigns RESTART IDENTITY");
  Server server = StartServer(f, Get(f, "label") + "-r" + Get(f, "run", "1"));
  auto stubs = Stubs(server.address, (callers + 7) / 8);
  CreateCampaigns(*stubs[0], campaigns);
  Exec(c, "CHECKPOINT");
  pid_t pm = Postmaster(c);
  double pg0 = ClusterCpuSeconds(pm), sv0 = ProcessCpuSeconds(server.child->pid());
  // The load generator's own CPU: it shares the machine's cores with the
  // server and PostgreSQL (pgbench's floor client is far lighter).
  double client0 = ProcessCpuSeconds(getpid());
  std::atomic<long> ok{0}, failed{0};
  std::mutex err_mu;
  std::string first_error;
  auto start = Clock::now();
  auto end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  // The kit's Apply, never retried (a failure is a failure here), one record
  // per Apply for the checks afterwards.
  verify::RetryPolicy no_retry;
  no_retry.rpc_timeout = 30s;
  std::vector<std::vector<verify::ApplyRecord>> per_thread(callers);
  std::vector<std::thread> threads;
  for (long t = 0; t < callers; ++t) {
    threads.emplace_back([&, t] {
      auto& stub = *stubs[t / 8];
      absl::BitGen random;
      for (long i = 0; Clock::now() < end; ++i) {
        verify::ApplyRecord& r = per_thread[t].emplace_back();
        r.campaign_id = (t + i) % campaigns + 1;
        r.user_id = "c" + std::to_string(t) + "-" + std::to_string(i);
        verify::ApplyWithRetry(stub, no_retry, random, &r);
        if (r.acknowledged) {
          ok++;
        } else {
          failed++;
          std::lock_guard<std::mutex> l(err_mu);
          if (first_error.empty()) {
            first_error = std::to_string(r.last_code) + ":" + r.last_message;
          }
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  std::vector<verify::ApplyRecord> records;
  for (auto& mine : per_thread) records.insert(records.end(), mine.begin(), mine.end());
  double secs = Seconds(Clock::now() - start);
  double server_cpu = ProcessCpuSeconds(server.child->pid()) - sv0;
  double pg_cpu = ClusterCpuSeconds(pm) - pg0;
  double client_cpu = ProcessCpuSeconds(getpid()) - client0;
  long server_rss = PeakRssKib(server.child->pid());
  Stop(*server.child, 20s);
  // No workers ran: everything stays pending. Every OK reply is a stored
  // row, and nothing else is.
  std::string error =
      Verify(Get(f, "db"), records, /*expect_decided=*/false, ok.load(), -1, nullptr);
  if (failed) error += std::to_string(failed.load()) + " Applies failed, first " + first_error;
  res.Add("callers", std::to_string(callers));
  AddApplyThroughput(res, ok.load(), secs, server_rss, server_cpu, pg_cpu);
  res.Add("client_cpu_ms_per_1k", client_cpu * 1000 / (ok / 1000.0));
  res.Print(error.empty(), error);
  return error.empty() ? 0 : 1;
}

// W3: workers idle first; Applies open-loop at --rate for --seconds; a
// watcher LISTENs on campaignq_decided and, on each notification, reads which
// applications are now decided (committed): its clock after the read is the
// "observed" time. Latency = observed - time just before the Apply call;
// also decided_at (clock_timestamp() inside the deciding transaction) - send.
int Latency(const Flags& f) {
  Result res(Get(f, "label"), GetInt(f, "run", 1));
  long campaigns = GetInt(f, "campaigns", 20), procs = GetInt(f, "procs", 2),
       threads = GetInt(f, "threads", 4);
  double rate = std::stod(Get(f, "rate", "500")), seconds = std::stod(Get(f, "seconds", "20"));
  long total = static_cast<long>(rate * seconds);
  std::string tag = Get(f, "label") + "-r" + Get(f, "run", "1");
  pqxx::connection c(Get(f, "db"));
  Exec(c, "TRUNCATE applications, campaigns RESTART IDENTITY");
  Server server = StartServer(f, tag);
  auto stubs = Stubs(server.address, 8);
  CreateCampaigns(*stubs[0], campaigns);
  auto workers = StartWorkers(f, procs, threads, tag);
  for (auto& w : workers) WaitForLine(*w, "campaignq-worker ready", 60s);
  Exec(c, "CHECKPOINT");

  // Idle: 2 s with nothing to do.
  pid_t pm = Postmaster(c);
  auto cpu_of_workers = [&] {
    double s = 0;
    for (auto& w : workers) s += ProcessCpuSeconds(w->pid());
    return s;
  };
  double idle_w0 = cpu_of_workers(), idle_s0 = ProcessCpuSeconds(server.child->pid());
  auto idle_start = Clock::now();
  std::this_thread::sleep_for(2s);
  double idle_secs = Seconds(Clock::now() - idle_start);
  res.Add("idle_worker_cpu_pct", (cpu_of_workers() - idle_w0) / idle_secs * 100);
  res.Add("idle_server_cpu_pct",
          (ProcessCpuSeconds(server.child->pid()) - idle_s0) / idle_secs * 100);

  // The watcher.
  std::atomic<bool> stop_watch{false};
  std::vector<int64_t> observed(total + 2, 0);
  std::atomic<long> observed_count{0};
  std::thread watcher([&] {
    pqxx::connection wc(Get(f, "db"));
    struct Receiver : pqxx::notification_receiver {
      using pqxx::notification_receiver::notification_receiver;
      int got = 0;
      void operator()(const std::string&, int) override { got++; }
    } receiver(wc, "campaignq_decided");
    long low = 1;
    while (!stop_watch) {
      wc.await_notification(0, 50000);
      if (receiver.got == 0) continue;
      receiver.got = 0;
      pqxx::nontransaction n(wc);
      auto rows =
          n.exec_params("SELECT id FROM applications WHERE id >= $1 AND status <> 'pending'", low);
      int64_t now = NowMicros();
      for (const auto& row : rows) {
        long id = row[0].as<long>();
        if (id >= static_cast<long>(observed.size())) continue;
        if (observed[id] == 0) {
          observed[id] = now;
          observed_count++;
        }
      }
      while (low < static_cast<long>(observed.size()) && observed[low] != 0) ++low;
    }
  });

  double w0 = cpu_of_workers(), s0 = ProcessCpuSeconds(server.child->pid()),
         pg0 = ClusterCpuSeconds(pm);
  std::vector<int64_t> send_us(total), app_id(total, 0);
  std::vector<double> late_ms(total, 0);
  std::vector<verify::ApplyRecord> records(total);
  verify::RetryPolicy no_retry;  // the kit's Apply, never retried
  no_retry.rpc_timeout = 30s;
  std::atomic<long> next{0}, failed{0};
  std::string first_error;
  std::mutex err_mu;
  auto start = Clock::now() + 100ms;
  auto interval = std::chrono::duration<double>(1.0 / rate);
  std::vector<std::thread> senders;
  for (int t = 0; t < 64; ++t) {
    senders.emplace_back([&, t] {
      auto& stub = *stubs[t % stubs.size()];
      absl::BitGen random;
      for (;;) {
        long k = next++;
        if (k >= total) return;
        auto at = start + std::chrono::duration_cast<Clock::duration>(interval * k);
        std::this_thread::sleep_until(at);
        late_ms[k] = Seconds(Clock::now() - at) * 1000;
        verify::ApplyRecord& r = records[k];
        r.campaign_id = k % campaigns + 1;
        r.user_id = "w3-" + std::to_string(k);
        send_us[k] = NowMicros();
        verify::ApplyWithRetry(stub, no_retry, random, &r);
        if (r.acknowledged) {
          app_id[k] = r.application_id;
        } else {
          failed++;
          std::lock_guard<std::mutex> l(err_mu);
          if (first_error.empty()) first_error = r.last_message;
        }
      }
    });
  }
  for (auto& t : senders) t.join();
  double send_secs = Seconds(Clock::now() - start);
  auto deadline = Clock::now() + 60s;
  while (AnyPending(c) && Clock::now() < deadline) std::this_thread::sleep_for(20ms);
  auto watch_deadline = Clock::now() + 5s;
  while (observed_count < total - failed && Clock::now() < watch_deadline)
    std::this_thread::sleep_for(10ms);
  stop_watch = true;
  watcher.join();
  double worker_cpu = cpu_of_workers() - w0,
         server_cpu = ProcessCpuSeconds(server.child->pid()) - s0,
         pg_cpu = ClusterCpuSeconds(pm) - pg0;
  long worker_rss = 0;
  for (auto& w : workers) worker_rss = std::max(worker_rss, PeakRssKib(w->pid()));
  long server_rss = PeakRssKib(server.child->pid());
  StopAll(workers);
  Stop(*server.child, 20s);

  std::map<long, int64_t> decided;
  {
    pqxx::nontransaction n(c);
    for (const auto& row : n.exec("SELECT id, campaignq_micros(decided_at) FROM applications "
                                  "WHERE status = 'approved'"))
      decided[row[0].as<long>()] = row[1].as<int64_t>();
  }
  std::string error = Verify(Get(f, "db"), records, true, total - failed, total - failed, nullptr);
  if (failed) error += std::to_string(failed.load()) + " Applies failed: " + first_error + "; ";
  std::vector<double> lat_obs, lat_dec;
  long missing = 0, late = 0;
  for (long k = 0; k < total; ++k) {
    if (late_ms[k] > 1.0) late++;
    if (app_id[k] == 0) continue;
    auto it = decided.find(app_id[k]);
    if (it == decided.end()) {
      missing++;
      continue;
    }
    lat_dec.push_back((it->second - send_us[k]) / 1000.0);
    if (app_id[k] < static_cast<long>(observed.size()) && observed[app_id[k]] != 0)
      lat_obs.push_back((observed[app_id[k]] - send_us[k]) / 1000.0);
    else
      missing++;
  }
  if (missing) error += std::to_string(missing) + " decisions not observed; ";
  long n = total - failed;
  res.Add("apps", std::to_string(total));
  res.Add("rate_target", rate);
  res.Add("rate_achieved", total / send_secs);
  res.Add("issued_late_1ms", std::to_string(late));
  res.Add("p50_ms", Percentile(lat_obs, 50));
  res.Add("p95_ms", Percentile(lat_obs, 95));
  res.Add("p99_ms", Percentile(lat_obs, 99));
  res.Add("max_ms", Percentile(lat_obs, 100));
  res.Add("decided_p50_ms", Percentile(lat_dec, 50));
  res.Add("decided_p99_ms", Percentile(lat_dec, 99));
  res.Add("value", Percentile(lat_obs, 50));
  res.Add("unit", "ms_p50");
  res.Add("worker_rss_kib", std::to_string(worker_rss));
  res.Add("server_rss_kib", std::to_string(server_rss));
  res.Add("worker_cpu_ms_per_1k", worker_cpu * 1000 / (n / 1000.0));
  res.Add("server_cpu_ms_per_1k", server_cpu * 1000 / (n / 1000.0));
  res.Add("pg_cpu_ms_per_1k", pg_cpu * 1000 / (n / 1000.0));
  // The same per Apply+decision (issue 10's unit for W3).
  res.Add("worker_cpu_ms_per_decision", worker_cpu * 1000 / n);
  res.Add("server_cpu_ms_per_decision", server_cpu * 1000 / n);
  res.Add("pg_cpu_ms_per_decision", pg_cpu * 1000 / n);
  res.Print(error.empty(), error);
  return error.empty() ? 0 : 1;
}

// Stats that stay cheap (issue 13): a history of D decided applications
// over M campaigns (the last `open` of them open, each with a queue of P
// pending and W waitlisted), then GetQueueStats and filtered
// ListApplications pages through the server, each R times; p50/p99 per call.
// Per campaign: 10% approved, 88% rejected, 1.5% cancelled, 0.5% failed.
int Stats(const Flags& f) {
  Result res(Get(f, "label", "stats"), GetInt(f, "run", 1));
  const long campaigns = GetInt(f, "campaigns", 10000);
  const long per = GetInt(f, "decided", 10000000) / campaigns, decided = per * campaigns;
  const long open = GetInt(f, "open", 100), pending = GetInt(f, "pending", 100);
  const long waitlisted = GetInt(f, "waitlisted", 100), repeat = GetInt(f, "repeat", 200);
  if (per < 200 || open > campaigns) throw std::runtime_error("need >= 200 decided per campaign");
  pqxx::connection c(Get(f, "db"));
  Exec(c, "TRUNCATE applications, campaigns RESTART IDENTITY");
  auto seed_start = Clock::now();
  {
    pqxx::work w(c);
    w.exec_params(
        "INSERT INTO campaigns (id, name, max_participants, waitlist, status, closed_at) "
        "OVERRIDING SYSTEM VALUE "
        "SELECT g, 'stats-' || g, $2::int, true, "
        "       CASE WHEN g > $1::bigint - $3::bigint THEN 'open' ELSE 'closed' END, "
        "       CASE WHEN g > $1::bigint - $3::bigint THEN NULL ELSE clock_timestamp() END "
        "FROM generate_series(1, $1::bigint) g",
        campaigns, static_cast<int>(per / 10), open);
    // Position k within a campaign picks the status: the first 10%
    // approved, then rejected up to 98%, cancelled up to 99.5%, failed.
    w.exec_params(
        "INSERT INTO applications (campaign_id, user_id, status, reason, last_error, attempts, "
        "                          decided_at) "
        "SELECT 1 + (g - 1) / $2, 'u' || g, s.status, "
        "       CASE WHEN s.status = 'rejected' THEN 'campaign_full' END, "
        "       CASE WHEN s.status = 'failed' THEN 'poison' END, "
        "       CASE WHEN s.status = 'failed' THEN 3 ELSE 0 END, clock_timestamp() "
        "FROM generate_series(1, $1::bigint) g "
        "CROSS JOIN LATERAL (SELECT CASE WHEN (g - 1) % $2 < $2 / 10 THEN 'approved' "
        "                                WHEN (g - 1) % $2 < $2 * 98 / 100 THEN 'rejected' "
        "                                WHEN (g - 1) % $2 < $2 * 995 / 1000 THEN 'cancelled' "
        "                                ELSE 'failed' END AS status) s "
        "ORDER BY g",
        decided, per);
    // The open campaigns' queues: waitlisted, then pending (newest).
    w.exec_params(
        "INSERT INTO applications (campaign_id, user_id, status, decided_at) "
        "SELECT c, 'w' || c || '-' || k, 'waitlisted', clock_timestamp() "
        "FROM generate_series($1::bigint - $2::bigint + 1, $1::bigint) c, generate_series(1, "
        "$3::bigint) k",
        campaigns, open, waitlisted);
    w.exec_params(
        "INSERT INTO applications (campaign_id, user_id) "
        "SELECT c, 'p' || c || '-' || k "
        "FROM generate_series($1::bigint - $2::bigint + 1, $1::bigint) c, generate_series(1, "
        "$3::bigint) k",
        campaigns, open, pending);
    // The counters, as migration 0004's backfill computes them.
    w.exec(
        "UPDATE campaigns c SET approved_count = d.approved, rejected_count = d.rejected, "
        "       cancelled_count = d.cancelled, failed_count = d.failed "
        "FROM (SELECT campaign_id, count(*) FILTER (WHERE status = 'approved') AS approved, "
        "             count(*) FILTER (WHERE status = 'rejected') AS rejected, "
        "             count(*) FILTER (WHERE status = 'cancelled') AS cancelled, "
        "             count(*) FILTER (WHERE status = 'failed') AS failed "
        "      FROM applications GROUP BY campaign_id) d WHERE c.id = d.campaign_id");
    w.commit();
  }
  Exec(c, "VACUUM ANALYZE applications");
  Exec(c, "VACUUM ANALYZE campaigns");
  res.Add("seed_seconds", Seconds(Clock::now() - seed_start));
  res.Add("applications", std::to_string(Count(c, "SELECT count(*) FROM applications")));
  res.Add("table_mib",
          std::to_string(Count(c, "SELECT pg_total_relation_size('applications') >> 20")));

  Server server = StartServer(f, "stats");
  auto stub = std::move(Stubs(server.address, 1)[0]);
  const long some_open = campaigns - open / 2, some_closed = campaigns / 2;
  std::string error;
  // Each named call, R times after one warm-up; p50 and p99 in ms.
  auto measure = [&](const std::string& name, auto call) {
    std::vector<double> ms;
    for (long i = 0; i <= repeat; ++i) {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + 30s);
      auto t0 = Clock::now();
      const std::string failure = call(&ctx);
      if (i > 0) ms.push_back(Seconds(Clock::now() - t0) * 1000);
      if (!failure.empty() && error.empty()) error = name + ": " + failure;
    }
    res.Add(name + "_p50_ms", Percentile(ms, 50));
    res.Add(name + "_p99_ms", Percentile(ms, 99));
  };
  measure("stats", [&](grpc::ClientContext* ctx) -> std::string {
    v1::GetQueueStatsRequest request;
    v1::QueueStats stats;
    grpc::Status st = stub->GetQueueStats(ctx, request, &stats);
    if (!st.ok()) return st.error_message();
    if (stats.approved() + stats.rejected() + stats.cancelled() + stats.failed() != decided ||
        stats.pending() != open * pending || stats.waitlisted() != open * waitlisted ||
        stats.campaigns_size() != std::min(open, 100L)) {
      return "wrong totals: " + stats.ShortDebugString().substr(0, 200);
    }
    return "";
  });
  auto page = [&](const std::string& name, long campaign, v1::ApplicationStatus status) {
    measure(name, [&, campaign, status](grpc::ClientContext* ctx) -> std::string {
      v1::ListApplicationsRequest request;
      request.set_campaign_id(campaign);
      request.set_status(status);
      request.set_page_size(100);
      v1::ListApplicationsResponse response;
      grpc::Status st = stub->ListApplications(ctx, request, &response);
      if (!st.ok()) return st.error_message();
      if (response.applications_size() == 0) return "empty page";
      return "";
    });
  };
  page("list_all_failed", 0, v1::APPLICATION_STATUS_FAILED);
  page("list_all_cancelled", 0, v1::APPLICATION_STATUS_CANCELLED);
  page("list_all_approved", 0, v1::APPLICATION_STATUS_APPROVED);
  page("list_all_rejected", 0, v1::APPLICATION_STATUS_REJECTED);
  page("list_all_pending", 0, v1::APPLICATION_STATUS_PENDING);
  page("list_all_waitlisted", 0, v1::APPLICATION_STATUS_WAITLISTED);
  page("list_campaign_approved", some_closed, v1::APPLICATION_STATUS_APPROVED);
  page("list_campaign_rejected", some_closed, v1::APPLICATION_STATUS_REJECTED);
  page("list_campaign_failed", some_closed, v1::APPLICATION_STATUS_FAILED);
  page("list_campaign_pending", some_open, v1::APPLICATION_STATUS_PENDING);
  Stop(*server.child, 20s);
  res.Add("value", 0.0);
  res.Add("unit", "ms");
  res.Print(error.empty(), error);
  return error.empty() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: campaignq-bench "
                 "migrate|drain|apply|apply-batch|latency|soak|pressure|stats|position|report "
                 "--flag=value ...\n");
    return 2;
  }
  std::string cmd = argv[1];
  Flags flags;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0) {
      std::fprintf(stderr, "campaignq-bench: unexpected argument %s\n", a.c_str());
      return 2;
    }
    auto eq = a.find('=');
    if (eq != std::string::npos) {
      flags[a.substr(2, eq - 2)] = a.substr(eq + 1);
    } else if (i + 1 < argc) {
      flags[a.substr(2)] = argv[++i];
    } else {
      flags[a.substr(2)] = "1";
    }
  }
  try {
    if (cmd == "migrate") return Migrate(flags);
    if (cmd == "drain") return Drain(flags);
    if (cmd == "apply") return Apply(flags);
    if (cmd == "apply-batch") return ApplyBatch(flags);
    if (cmd == "latency") return Latency(flags);
    if (cmd == "report") return bench::Report(flags);
    if (cmd == "soak") return bench::Soak(flags);
    if (cmd == "pressure") return bench::Pressure(flags);
    if (cmd == "stats") return Stats(flags);
    if (cmd == "position") return bench::Position(flags);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "campaignq-bench %s: %s\n", cmd.c_str(), e.what());
    std::cout << "RESULT ok=0 label=" << flags["label"] << " run=" << flags["run"]
              << " error=exception" << std::endl;
    return 1;
  }
  std::fprintf(stderr, "campaignq-bench: unknown command %s\n", cmd.c_str());
  return 2;
}
