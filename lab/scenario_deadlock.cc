// deadlock: transactions that update a user row and a campaign row, in two
// lock orders or in one.

#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/db/pg_status.h"
#include "common/db/transaction.h"
#include "lab/barrier.h"
#include "lab/scenarios.h"
#include "lab_statements.h"

namespace campaignq::lab {
namespace {

constexpr int kDefaultClients = 8;
constexpr int kDefaultIterations = 10;
// A real deadlock costs deadlock_timeout (1 s by default) before PostgreSQL
// looks for the cycle; the lab lowers it per session where it may.
constexpr char kLabDeadlockTimeout[] = "50ms";

// True when this session may lower deadlock_timeout (superuser).
bool LowerDeadlockTimeout(db::Connection& connection) {
  try {
    pqxx::nontransaction session(connection);
    Run(session, sql::kLabSetConfig, "deadlock_timeout", kLabDeadlockTimeout);
    return true;
  } catch (const pqxx::sql_error&) {
    return false;
  }
}

}  // namespace

absl::StatusOr<ScenarioReport> RunDeadlock(const LabOptions& options, ScenarioSchema& schema) {
  const int pairs = std::max(1, options.ClientsOr(kDefaultClients) / 2);
  const int clients = pairs * 2;
  const int iterations = options.IterationsOr(kDefaultIterations);
  ScenarioReport report;
  report.name = "deadlock";
  report.title = absl::StrCat(pairs, " pairs of clients x ", iterations,
                              " transactions, each updating its pair's user row and campaign row");
  report.violation_label = "counter drift (a deadlock is a cost, not a violation: see 40P01)";
  const bool lowered = LowerDeadlockTimeout(schema.admin());
  const std::string timeout =
      Admin(schema, sql::kLabShowSetting, "deadlock_timeout")[0][0].as<std::string>();
  report.notes.push_back(
      lowered ? absl::StrCat("deadlock_timeout lowered to ", timeout, " per session (superuser)")
              : absl::StrCat("deadlock_timeout stays ", timeout,
                             ": not superuser, each deadlock costs that long"));
  report.notes.push_back(
      "two-orders: in each pair one client locks user then campaign, the other campaign then "
      "user; both take their first lock, pass a pair barrier (neither blocked yet), then reach "
      "for the second: a real deadlock (40P01) every iteration; the victim backs off 2 ms, then "
      "retries (retried at once it re-took its first row ahead of the winner and deadlocked "
      "again about every other time)");
  AdminScript(schema, sql::kLabDeadlockSchema);
  for (const std::string strategy : {"two-orders", "one-order"}) {
    if (!options.Wants(strategy)) continue;
    AdminScript(schema, sql::kLabDeadlockTruncate);
    Admin(schema, sql::kLabDeadlockSeedUsers, pairs);
    Admin(schema, sql::kLabDeadlockSeedCampaigns, pairs);
    std::vector<std::unique_ptr<CountingBarrier>> started, locked;
    for (int p = 0; p < pairs; ++p) {
      started.push_back(std::make_unique<CountingBarrier>(2));
      locked.push_back(std::make_unique<CountingBarrier>(2));
    }
    const bool unsafe = strategy == "two-orders";
    auto run =
        RunClients(schema, clients, [&](int client, db::Connection& connection, Tally& tally) {
          LowerDeadlockTimeout(connection);
          const int pair = client / 2;
          const int row = pair + 1;
          const bool campaign_first = unsafe && client % 2 == 1;
          RetryPolicy policy;
          policy.retry_on = {db::kSqlstateDeadlockDetected};
          // Retried at once, the victim re-takes its first row (the aborted
          // xmax frees it) before the woken winner does, and deadlocks again
          // about every other time; a short pause lets the winner finish.
          policy.backoff = true;
          policy.first_backoff = std::chrono::milliseconds(2);
          for (int i = 0; i < iterations; ++i) {
            // Both of the pair start the iteration holding nothing.
            if (unsafe && !started[pair]->ArriveAndWait(kBarrierTimeout)) ++tally.barrier_timeouts;
            bool first_try = true;
            const bool done = RunOperation(tally, policy, [&] {
              db::ReadCommittedTransaction txn(connection);
              auto first =
                  campaign_first ? sql::kLabDeadlockTouchCampaign : sql::kLabDeadlockTouchUser;
              auto second =
                  campaign_first ? sql::kLabDeadlockTouchUser : sql::kLabDeadlockTouchCampaign;
              TimedLock(tally, [&] { return Run(txn, first, row); });
              // Each holds only its own first row, which the other has not
              // reached for yet: the barrier cannot close a cycle PostgreSQL
              // cannot see. Retries skip it.
              if (unsafe && first_try && !locked[pair]->ArriveAndWait(kBarrierTimeout)) {
                ++tally.barrier_timeouts;
              }
              first_try = false;
              TimedLock(tally, [&] { return Run(txn, second, row); });
              txn.commit();
              return Step::kDone;
            });
            if (!done) {
              started[pair]->Break();
              locked[pair]->Break();
            }
          }
        });
    if (!run.ok()) return run.status();
    StrategyResult result;
    result.strategy = strategy;
    result.unsafe = unsafe;
    result.clients = clients;
    Summarise(run->tally, run->seconds, &result);
    pqxx::result tally = Admin(schema, sql::kLabDeadlockTally);
    const int64_t users = tally[0][0].as<int64_t>();
    const int64_t campaigns = tally[0][1].as<int64_t>();
    result.end_state = "committed updates";
    result.expected = result.succeeded;
    result.actual = users;
    result.violations = std::abs(users - result.succeeded) + std::abs(campaigns - result.succeeded);
    result.extra["deadlocks"] = result.Errors(db::kSqlstateDeadlockDetected);
    report.results.push_back(std::move(result));
  }
  return report;
}

}  // namespace campaignq::lab
