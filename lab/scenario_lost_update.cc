// lost-update: concurrent increments of one counter.

#include <memory>

#include "absl/strings/str_cat.h"
#include "common/db/pg_status.h"
#include "common/db/transaction.h"
#include "lab/barrier.h"
#include "lab/scenarios.h"
#include "lab_statements.h"

namespace campaignq::lab {
namespace {

constexpr int kDefaultClients = 8;
constexpr int kDefaultIterations = 40;

// One increment under `strategy`. `barrier` is set for "unsafe" only.
Step Increment(const std::string& strategy, db::Connection& connection, Tally& tally,
               CountingBarrier* barrier) {
  if (strategy == "unsafe") {
    // Read and write in separate autocommit statements: no lock is held at
    // the barrier, and every client reads before any client writes.
    pqxx::nontransaction session(connection);
    const int64_t n = Run(session, sql::kLabCounterRead)[0][0].as<int64_t>();
    if (!barrier->ArriveAndWait(kBarrierTimeout)) ++tally.barrier_timeouts;
    Run(session, sql::kLabCounterWrite, n + 1);
    return Step::kDone;
  }
  if (strategy == "atomic") {
    db::ReadCommittedTransaction txn(connection);
    Run(txn, sql::kLabCounterIncrement);
    txn.commit();
    return Step::kDone;
  }
  if (strategy == "for-update") {
    db::ReadCommittedTransaction txn(connection);
    const int64_t n =
        TimedLock(tally, [&] { return Run(txn, sql::kLabCounterReadForUpdate); })[0][0]
            .as<int64_t>();
    Run(txn, sql::kLabCounterWrite, n + 1);
    txn.commit();
    return Step::kDone;
  }
  if (strategy == "optimistic") {
    pqxx::nontransaction session(connection);
    pqxx::result row = Run(session, sql::kLabCounterRead);
    const int64_t n = row[0][0].as<int64_t>();
    const int64_t version = row[0][1].as<int64_t>();
    return Run(session, sql::kLabCounterWriteIfVersion, n + 1, version).empty() ? Step::kRetry
                                                                                : Step::kDone;
  }
  // serializable: the unsafe read-modify-write, made safe by SSI.
  pqxx::transaction<pqxx::serializable> txn(connection);
  const int64_t n = Run(txn, sql::kLabCounterRead)[0][0].as<int64_t>();
  Run(txn, sql::kLabCounterWrite, n + 1);
  txn.commit();
  return Step::kDone;
}

}  // namespace

absl::StatusOr<ScenarioReport> RunLostUpdate(const LabOptions& options, ScenarioSchema& schema) {
  const int clients = options.ClientsOr(kDefaultClients);
  const int iterations = options.IterationsOr(kDefaultIterations);
  ScenarioReport report;
  report.name = "lost-update";
  report.title = absl::StrCat(clients, " clients x ", iterations,
                              " increments of one counter (read, add 1, write back)");
  report.violation_label = "lost updates (expected - final counter)";
  report.notes.push_back(
      "unsafe: every client reads, then all pass a barrier, then all write: each round of "
      "N clients loses N-1 increments, every run");
  AdminScript(schema, sql::kLabCounterSchema);
  for (const std::string strategy :
       {"unsafe", "atomic", "for-update", "optimistic", "serializable"}) {
    if (!options.Wants(strategy)) continue;
    Admin(schema, sql::kLabCounterReset);
    auto barrier = std::make_unique<CountingBarrier>(clients);
    RetryPolicy policy;
    if (strategy == "serializable") policy.retry_on = {db::kSqlstateSerializationFailure};
    auto run = RunClients(schema, clients, [&](int, db::Connection& connection, Tally& tally) {
      for (int i = 0; i < iterations; ++i) {
        if (!RunOperation(tally, policy,
                          [&] { return Increment(strategy, connection, tally, barrier.get()); })) {
          barrier->Break();  // a lost party must not stall the others
        }
      }
    });
    if (!run.ok()) return run.status();
    StrategyResult result;
    result.strategy = strategy;
    result.unsafe = strategy == "unsafe";
    result.clients = clients;
    Summarise(run->tally, run->seconds, &result);
    result.end_state = "counter";
    result.expected = static_cast<int64_t>(clients) * iterations;
    result.actual = Admin(schema, sql::kLabCounterRead)[0][0].as<int64_t>();
    // Every completed increment must show; failed ones are errors, not losses.
    result.violations = std::max<int64_t>(0, result.succeeded - result.actual);
    result.expected = result.succeeded;
    report.results.push_back(std::move(result));
  }
  return report;
}

}  // namespace campaignq::lab
