// lock-duration: a slow side effect (a notification) sent while the row
// lock is held, against an outbox row written in the transaction and
// delivered after commit.

#include <thread>

#include "absl/strings/str_cat.h"
#include "common/db/transaction.h"
#include "lab/scenarios.h"
#include "lab_statements.h"

namespace campaignq::lab {
namespace {

constexpr int kDefaultClients = 8;
constexpr int kDefaultIterations = 15;
// The simulated notification (an HTTP call, an e-mail hand-off).
constexpr std::chrono::milliseconds kNotification{5};

void Notify(Tally& tally) {
  std::this_thread::sleep_for(kNotification);
  ++tally.extra["notifications"];
}

}  // namespace

absl::StatusOr<ScenarioReport> RunLockDuration(const LabOptions& options, ScenarioSchema& schema) {
  const int clients = options.ClientsOr(kDefaultClients);
  const int iterations = options.IterationsOr(kDefaultIterations);
  ScenarioReport report;
  report.name = "lock-duration";
  report.title = absl::StrCat(clients, " clients x ", iterations,
                              " decisions on one campaign row, each followed by a ",
                              kNotification.count(), " ms notification");
  report.violation_label = "counter, outbox or delivery drift";
  report.notes.push_back(
      "inside-lock: notify before COMMIT (the lock is held for the call); "
      "outbox: INSERT an outbox row in the transaction, deliver after COMMIT");
  AdminScript(schema, sql::kLabCounterSchema);
  AdminScript(schema, sql::kLabOutboxSchema);
  for (const std::string strategy : {"inside-lock", "outbox"}) {
    if (!options.Wants(strategy)) continue;
    Admin(schema, sql::kLabCounterReset);
    AdminScript(schema, sql::kLabOutboxTruncate);
    const bool outbox = strategy == "outbox";
    auto run =
        RunClients(schema, clients, [&](int client, db::Connection& connection, Tally& tally) {
          RetryPolicy policy;
          for (int i = 0; i < iterations; ++i) {
            RunOperation(tally, policy, [&] {
              int64_t message = 0;
              {
                db::ReadCommittedTransaction txn(connection);
                TimedLock(tally, [&] { return Run(txn, sql::kLabCounterReadForNoKeyUpdate); });
                Run(txn, sql::kLabCounterIncrement);
                if (outbox) {
                  message = Run(txn, sql::kLabOutboxInsert,
                                absl::StrCat("decision ", client, "-", i))[0][0]
                                .as<int64_t>();
                } else {
                  Notify(tally);  // the lock is held all along
                }
                txn.commit();
              }
              if (outbox) {
                Notify(tally);
                pqxx::nontransaction session(connection);
                Run(session, sql::kLabOutboxMarkDelivered, message);
              }
              return Step::kDone;
            });
          }
        });
    if (!run.ok()) return run.status();
    StrategyResult result;
    result.strategy = strategy;
    result.clients = clients;
    Summarise(run->tally, run->seconds, &result);
    result.end_state = "counter";
    result.expected = result.succeeded;
    result.actual = Admin(schema, sql::kLabCounterRead)[0][0].as<int64_t>();
    int64_t drift = std::abs(result.actual - result.succeeded);
    drift += std::abs(result.extra["notifications"] - result.succeeded);
    if (outbox) {
      pqxx::result rows = Admin(schema, sql::kLabOutboxTally);
      drift += std::abs(rows[0][0].as<int64_t>() - result.succeeded);
      drift += std::abs(rows[0][1].as<int64_t>() - result.succeeded);
      result.extra["outbox_delivered"] = rows[0][1].as<int64_t>();
    }
    result.violations = drift;
    report.results.push_back(std::move(result));
  }
  return report;
}

}  // namespace campaignq::lab
