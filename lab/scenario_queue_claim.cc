// queue-claim: N workers draining M jobs, by claim strategy and worker count.

#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/db/pg_status.h"
#include "common/db/transaction.h"
#include "lab/barrier.h"
#include "lab/scenarios.h"
#include "lab_statements.h"

namespace campaignq::lab {
namespace {

constexpr int kDefaultIterations = 20;  // jobs = 8 x iterations
constexpr int kJobsPerIteration = 8;
constexpr int kUnsafeWorkers = 4;
const int kWorkerCounts[] = {1, 2, 4, 8, 16};
// The job's own work, done while the job row is locked.
constexpr std::chrono::microseconds kJobWork{1000};

// The unsafe claim: look without a lock. Rounds are fenced by two barriers
// (all peek; then all process; then all check what is left), so every
// worker of a round takes the same job, every run. No lock is held at
// either barrier.
void DrainUnsafe(db::Connection& connection, Tally& tally, int worker, CountingBarrier& peeked,
                 CountingBarrier& processed) {
  while (true) {
    const Clock::time_point start = Clock::now();
    ++tally.attempts;
    pqxx::nontransaction session(connection);
    pqxx::result job = Run(session, sql::kLabJobsPeek);
    if (!peeked.ArriveAndWait(kBarrierTimeout)) ++tally.barrier_timeouts;
    if (!job.empty()) {
      std::this_thread::sleep_for(kJobWork);
      Run(session, sql::kLabJobsFinish, job[0][0].as<int64_t>(), worker);
      ++tally.succeeded;
      tally.latencies_ms.push_back(MsSince(start));
    }
    if (!processed.ArriveAndWait(kBarrierTimeout)) ++tally.barrier_timeouts;
    if (!Run(session, sql::kLabJobsAnyPending)[0][0].as<bool>()) return;
  }
}

void DrainLocked(const std::string& strategy, db::Connection& connection, Tally& tally,
                 int worker) {
  const campaignq::sql::Statement claim = strategy == "for-update"    ? sql::kLabJobsClaimForUpdate
                                          : strategy == "skip-locked" ? sql::kLabJobsClaimSkipLocked
                                                                      : sql::kLabJobsClaimNowait;
  RetryPolicy policy;
  if (strategy == "nowait") {
    policy.retry_on = {db::kSqlstateLockNotAvailable};
    policy.backoff = true;
  }
  bool drained = false;
  while (!drained) {
    const bool done = RunOperation(tally, policy, [&] {
      {
        db::ReadCommittedTransaction txn(connection);
        pqxx::result job = TimedLock(tally, [&] { return Run(txn, claim); });
        if (!job.empty()) {
          std::this_thread::sleep_for(kJobWork);
          Run(txn, sql::kLabJobsFinish, job[0][0].as<int64_t>(), worker);
          txn.commit();
          return Step::kDone;
        }
        txn.commit();
      }
      pqxx::nontransaction session(connection);
      if (!Run(session, sql::kLabJobsAnyPending)[0][0].as<bool>()) {
        drained = true;
        return Step::kDone;
      }
      // FOR UPDATE: waited in line for the head job, then found it done
      // (READ COMMITTED re-checks the row, LIMIT 1 does not look further).
      ++tally.extra["empty_claims"];
      return Step::kRetry;
    });
    if (drained && done) {
      // The last "operation" found the queue empty: not a job.
      --tally.succeeded;
      tally.latencies_ms.pop_back();
    }
    if (!done) return;
  }
}

}  // namespace

absl::StatusOr<ScenarioReport> RunQueueClaim(const LabOptions& options, ScenarioSchema& schema) {
  const int jobs = options.IterationsOr(kDefaultIterations) * kJobsPerIteration;
  std::vector<int> worker_counts;
  if (options.clients > 0) {
    worker_counts.push_back(options.clients);
  } else {
    worker_counts.assign(std::begin(kWorkerCounts), std::end(kWorkerCounts));
  }
  ScenarioReport report;
  report.name = "queue-claim";
  report.title = absl::StrCat("N workers draining ", jobs, " jobs (1 ms of work each, row locked)");
  report.violation_label = "jobs processed more than once + jobs left";
  report.notes.push_back(
      absl::StrCat("unsafe (no lock, ", options.ClientsOr(kUnsafeWorkers),
                   " workers): all workers peek the "
                   "head job, pass a barrier, process it; a second barrier ends the round"));
  report.notes.push_back(
      "lock waits: claims that took >= 1 ms; empty_claims: FOR UPDATE waited "
      "for the head job and got no row (it was done meanwhile)");
  AdminScript(schema, sql::kLabJobsSchema);
  struct Planned {
    std::string strategy;
    int workers;
  };
  std::vector<Planned> runs;
  if (options.Wants("unsafe")) runs.push_back({"unsafe", options.ClientsOr(kUnsafeWorkers)});
  for (const std::string strategy : {"for-update", "skip-locked", "nowait"}) {
    if (!options.Wants(strategy)) continue;
    for (int workers : worker_counts) runs.push_back({strategy, workers});
  }
  for (const auto& [strategy, workers] : runs) {
    AdminScript(schema, sql::kLabJobsTruncate);
    Admin(schema, sql::kLabJobsSeed, jobs);
    auto peeked = std::make_unique<CountingBarrier>(workers);
    auto processed = std::make_unique<CountingBarrier>(workers);
    auto run =
        RunClients(schema, workers, [&](int worker, db::Connection& connection, Tally& tally) {
          if (strategy == "unsafe") {
            try {
              DrainUnsafe(connection, tally, worker, *peeked, *processed);
            } catch (...) {
              peeked->Break();
              processed->Break();
              throw;
            }
          } else {
            DrainLocked(strategy, connection, tally, worker);
          }
        });
    if (!run.ok()) return run.status();
    StrategyResult result;
    result.strategy = strategy;
    result.unsafe = strategy == "unsafe";
    result.clients = workers;
    Summarise(run->tally, run->seconds, &result);
    pqxx::result tally = Admin(schema, sql::kLabJobsTally);
    const int64_t done = tally[0][0].as<int64_t>();
    const int64_t doubled = tally[0][1].as<int64_t>();
    const int64_t extra = tally[0][2].as<int64_t>();
    const int64_t left = tally[0][3].as<int64_t>();
    result.end_state = "processings";
    result.expected = jobs;
    result.actual = done + extra;
    result.violations = doubled + left;
    result.extra["double_claimed_jobs"] = doubled;
    result.extra["jobs_left"] = left;
    result.note = absl::StrCat(workers, " workers");
    report.results.push_back(std::move(result));
  }
  return report;
}

}  // namespace campaignq::lab
