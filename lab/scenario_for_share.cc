// for-share: a report that reads several rows in separate statements
// while writers move units between them (the total never changes).

#include <atomic>
#include <memory>
#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/db/transaction.h"
#include "lab/barrier.h"
#include "lab/scenarios.h"
#include "lab_statements.h"

namespace campaignq::lab {
namespace {

constexpr int kDefaultClients = 8;  // half read, half write
constexpr int kDefaultIterations = 20;
constexpr int kRows = 4;
constexpr int kStartBalance = 100;

// Moves one unit between two rows, in id order (writers never deadlock).
void Transfer(db::Connection& connection, int from, int to) {
  db::ReadCommittedTransaction txn(connection);
  const int low = std::min(from, to), high = std::max(from, to);
  Run(txn, sql::kLabShareAdd, low, low == from ? -1 : 1);
  Run(txn, sql::kLabShareAdd, high, high == from ? -1 : 1);
  txn.commit();
}

}  // namespace

absl::StatusOr<ScenarioReport> RunForShare(const LabOptions& options, ScenarioSchema& schema) {
  const int pairs = std::max(1, options.ClientsOr(kDefaultClients) / 2);
  const int iterations = options.IterationsOr(kDefaultIterations);
  const int64_t total = static_cast<int64_t>(kRows) * kStartBalance;
  ScenarioReport report;
  report.name = "for-share";
  report.title = absl::StrCat(pairs, " readers x ", iterations, " reads of ", kRows,
                              " balances, one statement per row, while ", pairs,
                              " writers move units between them");
  report.violation_label = "reads whose total was wrong";
  report.notes.push_back(
      "none: each reader is paired with a writer: the reader reads row 1, both pass a barrier, "
      "the writer commits a transfer from row 1 to row 2, both pass a second barrier, the reader "
      "reads the rest (no row lock held at either barrier)");
  AdminScript(schema, sql::kLabShareSchema);
  for (const std::string strategy : {"none", "for-share"}) {
    if (!options.Wants(strategy)) continue;
    AdminScript(schema, sql::kLabShareTruncate);
    Admin(schema, sql::kLabShareSeed, kRows, kStartBalance);
    const bool unsafe = strategy == "none";
    std::vector<std::unique_ptr<CountingBarrier>> first_read, transferred;
    for (int p = 0; p < pairs; ++p) {
      first_read.push_back(std::make_unique<CountingBarrier>(2));
      transferred.push_back(std::make_unique<CountingBarrier>(2));
    }
    std::atomic<int> readers_left{pairs};
    auto run =
        RunClients(schema, pairs * 2, [&](int client, db::Connection& connection, Tally& tally) {
          const int pair = client / 2;
          if (client % 2 == 1) {  // writer
            std::mt19937 random(static_cast<uint32_t>(options.seed * 7919 + client));
            if (unsafe) {
              for (int i = 0; i < iterations; ++i) {
                if (!first_read[pair]->ArriveAndWait(kBarrierTimeout)) ++tally.barrier_timeouts;
                Transfer(connection, 1, 2);
                ++tally.extra["transfers"];
                if (!transferred[pair]->ArriveAndWait(kBarrierTimeout)) ++tally.barrier_timeouts;
              }
              return;
            }
            std::uniform_int_distribution<int> row(1, kRows);
            while (readers_left.load() > 0) {
              const int from = row(random);
              int to = row(random);
              if (to == from) to = from % kRows + 1;
              Transfer(connection, from, to);
              ++tally.extra["transfers"];
            }
            return;
          }
          RetryPolicy policy;
          for (int i = 0; i < iterations; ++i) {
            RunOperation(tally, policy, [&] {
              db::ReadCommittedTransaction txn(connection);
              int64_t sum = 0;
              for (int id = 1; id <= kRows; ++id) {
                sum += unsafe ? Run(txn, sql::kLabShareRead, id)[0][0].as<int64_t>()
                              : TimedLock(
                                    tally,
                                    [&] { return Run(txn, sql::kLabShareReadForShare, id); })[0][0]
                                    .as<int64_t>();
                if (unsafe && id == 1) {
                  if (!first_read[pair]->ArriveAndWait(kBarrierTimeout)) ++tally.barrier_timeouts;
                  if (!transferred[pair]->ArriveAndWait(kBarrierTimeout)) ++tally.barrier_timeouts;
                }
              }
              txn.commit();
              if (sum != total) ++tally.extra["inconsistent_reads"];
              return Step::kDone;
            });
          }
          --readers_left;
        });
    if (!run.ok()) return run.status();
    StrategyResult result;
    result.strategy = strategy;
    result.unsafe = unsafe;
    result.clients = pairs * 2;
    Summarise(run->tally, run->seconds, &result);
    result.end_state = "total";
    result.expected = total;
    result.actual = Admin(schema, sql::kLabShareTotal)[0][0].as<int64_t>();
    result.violations = result.extra["inconsistent_reads"] + std::abs(result.actual - total);
    result.note = absl::StrCat(pairs, " readers + ", pairs, " writers");
    report.results.push_back(std::move(result));
  }
  return report;
}

}  // namespace campaignq::lab
