// fk-lock: FOR UPDATE vs FOR NO KEY UPDATE on the campaign row while
// Applies insert its children (each INSERT takes FOR KEY SHARE on the
// parent to check the foreign key).

#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/db/transaction.h"
#include "lab/scenarios.h"
#include "lab_statements.h"

namespace campaignq::lab {
namespace {

constexpr int kDefaultClients = 8;  // one holder, the rest apply
constexpr int kDefaultIterations = 20;
constexpr int kCap = 1000000;  // the cap plays no part here
// How long the holder keeps the campaign locked each time (a worker's batch).
constexpr std::chrono::milliseconds kHold{5};

}  // namespace

absl::StatusOr<ScenarioReport> RunFkLock(const LabOptions& options, ScenarioSchema& schema) {
  const int clients = std::max(2, options.ClientsOr(kDefaultClients));
  const int appliers = clients - 1;
  const int iterations = options.IterationsOr(kDefaultIterations);
  ScenarioReport report;
  report.name = "fk-lock";
  report.title = absl::StrCat(appliers, " clients x ", iterations,
                              " Applies (child INSERTs) while 1 client keeps locking the campaign "
                              "row for ",
                              kHold.count(), " ms at a time");
  report.violation_label = "Applies lost";
  report.notes.push_back("latency columns are the Applies'; lock waits: Applies that took >= 1 ms");
  AdminScript(schema, sql::kLabOverflowSchema);
  for (const std::string strategy : {"for-update", "for-no-key-update"}) {
    if (!options.Wants(strategy)) continue;
    AdminScript(schema, sql::kLabOverflowTruncate);
    Admin(schema, sql::kLabOverflowCampaignInsert, kCap);
    const campaignq::sql::Statement lock =
        strategy == "for-update" ? sql::kLabOverflowLockForUpdate : sql::kLabOverflowLockNoKey;
    std::atomic<int> appliers_left{appliers};
    auto run =
        RunClients(schema, clients, [&](int client, db::Connection& connection, Tally& tally) {
          if (client == 0) {
            while (appliers_left.load() > 0) {
              db::ReadCommittedTransaction txn(connection);
              Run(txn, lock);
              std::this_thread::sleep_for(kHold);  // the batch's work, lock held
              txn.commit();
              ++tally.extra["holds"];
            }
            return;
          }
          RetryPolicy policy;
          for (int i = 0; i < iterations; ++i) {
            RunOperation(tally, policy, [&] {
              pqxx::nontransaction session(connection);
              TimedLock(tally, [&] {
                return Run(session, sql::kLabOverflowInsert, absl::StrCat("user-", client, "-", i),
                           "pending");
              });
              return Step::kDone;
            });
          }
          --appliers_left;
        });
    if (!run.ok()) return run.status();
    StrategyResult result;
    result.strategy = strategy;
    result.clients = clients;
    Summarise(run->tally, run->seconds, &result);
    result.end_state = "applications";
    result.expected = result.succeeded;
    result.actual = Admin(schema, sql::kLabFkApplicationCount)[0][0].as<int64_t>();
    result.violations = std::abs(result.actual - result.succeeded);
    result.note = "1 lock holder";
    report.results.push_back(std::move(result));
  }
  return report;
}

}  // namespace campaignq::lab
