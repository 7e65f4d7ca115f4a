// db tier: every race lab scenario against a real PostgreSQL, with small
// parameters. Unsafe strategies must show their violation, safe ones none,
// with exact end states. Retry, wait and turn-away counts depend on timing:
// they are printed, never asserted.

#include <iostream>
#include <pqxx/pqxx>
#include <string>

#include "absl/strings/match.h"
#include "common/db/connect.h"
#include "common/db/migrator.h"
#include "common/db/pg_status.h"
#include "gtest/gtest.h"
#include "lab/lab.h"
#include "lab/report.h"
#include "support/test_postgres.h"

namespace campaignq::lab {
namespace {

LabOptions Small(const std::string& scenario, int clients, int iterations) {
  LabOptions options;
  options.database_url = testing::FreshDatabaseUrl("lab");
  options.scenarios = {scenario};
  options.clients = clients;
  options.iterations = iterations;
  return options;
}

ScenarioReport RunOne(const LabOptions& options) {
  absl::StatusOr<LabReport> report = RunLab(options);
  EXPECT_TRUE(report.ok()) << report.status();
  if (!report.ok() || report->scenarios.size() != 1) return ScenarioReport();
  std::cout << FormatTable(*report);  // the timing-dependent counts, for the log
  return report->scenarios[0];
}

const StrategyResult& Find(const ScenarioReport& report, const std::string& strategy) {
  for (const StrategyResult& result : report.results) {
    if (result.strategy == strategy) return result;
  }
  ADD_FAILURE() << "no row for " << strategy;
  static const StrategyResult* none = new StrategyResult();
  return *none;
}

TEST(LabLostUpdate, UnsafeLosesUpdatesEverySafeStrategyKeepsThemAll) {
  constexpr int kClients = 4, kIterations = 10;
  ScenarioReport report = RunOne(Small("lost-update", kClients, kIterations));
  ASSERT_EQ(report.results.size(), 5u);
  const StrategyResult& unsafe = Find(report, "unsafe");
  EXPECT_EQ(unsafe.barrier_timeouts, 0);
  // Each barrier round: all read v, all write v + 1.
  EXPECT_EQ(unsafe.actual, kIterations);
  EXPECT_EQ(unsafe.violations, kClients * kIterations - kIterations);
  for (const std::string strategy : {"atomic", "for-update", "optimistic", "serializable"}) {
    const StrategyResult& result = Find(report, strategy);
    EXPECT_EQ(result.succeeded, kClients * kIterations) << strategy;
    EXPECT_EQ(result.actual, kClients * kIterations) << strategy;
    EXPECT_EQ(result.violations, 0) << strategy;
  }
  // Four clients read-modify-writing one row under SSI: conflicts are real.
  EXPECT_GE(Find(report, "serializable").Errors(db::kSqlstateSerializationFailure), 1);
}

TEST(LabCampaignOverflow, UnsafeOverflowsEverySafeStrategyFillsExactlyTheCap) {
  constexpr int kClients = 4, kIterations = 3, kCap = 5;  // cap % clients != 0
  LabOptions options = Small("campaign-overflow", kClients, kIterations);
  options.cap = kCap;
  ScenarioReport report = RunOne(options);
  ASSERT_EQ(report.results.size(), 8u);
  const StrategyResult& unsafe = Find(report, "unsafe");
  EXPECT_EQ(unsafe.barrier_timeouts, 0);
  // Round 1 approves 4 (0 < 5), round 2 approves 4 more (4 < 5): 8.
  EXPECT_EQ(unsafe.actual, 8);
  EXPECT_EQ(unsafe.extra.at("overflow"), 3);
  EXPECT_GT(unsafe.violations, 0);
  for (const std::string strategy : {"for-update", "for-no-key-update", "nowait", "optimistic",
                                     "constraint-only", "serializable", "queue"}) {
    const StrategyResult& result = Find(report, strategy);
    EXPECT_EQ(result.succeeded, kClients * kIterations) << strategy;
    EXPECT_EQ(result.actual, kCap) << strategy;
    EXPECT_EQ(result.violations, 0) << strategy;
    EXPECT_EQ(result.extra.at("waitlisted"), kClients * kIterations - kCap) << strategy;
    EXPECT_EQ(result.extra.at("pending_left"), 0) << strategy;
  }
  // Every applicant past the cap is refused by the CHECK: exactly that many.
  EXPECT_EQ(Find(report, "constraint-only").Errors(db::kSqlstateCheckViolation),
            kClients * kIterations - kCap);
}

TEST(LabQueueClaim, NoLockProcessesJobsTwiceLockedClaimsExactlyOnce) {
  constexpr int kWorkers = 4, kIterations = 5, kJobs = kIterations * 8;
  ScenarioReport report = RunOne(Small("queue-claim", kWorkers, kIterations));
  ASSERT_EQ(report.results.size(), 4u);
  const StrategyResult& unsafe = Find(report, "unsafe");
  EXPECT_EQ(unsafe.barrier_timeouts, 0);
  // Every round, every worker takes the same head job.
  EXPECT_EQ(unsafe.actual, kJobs * kWorkers);
  EXPECT_EQ(unsafe.violations, kJobs);
  for (const std::string strategy : {"for-update", "skip-locked", "nowait"}) {
    const StrategyResult& result = Find(report, strategy);
    EXPECT_EQ(result.succeeded, kJobs) << strategy;
    EXPECT_EQ(result.actual, kJobs) << strategy;
    EXPECT_EQ(result.violations, 0) << strategy;
  }
  // Four workers asking NOWAIT for the same head job while it is held for
  // 1 ms of work: refusals are real.
  EXPECT_GE(Find(report, "nowait").Errors(db::kSqlstateLockNotAvailable), 1);
}

TEST(LabDeadlock, TwoLockOrdersDeadlockOneOrderNever) {
  constexpr int kClients = 4, kIterations = 3;
  ScenarioReport report = RunOne(Small("deadlock", kClients, kIterations));
  ASSERT_EQ(report.results.size(), 2u);
  const StrategyResult& two = Find(report, "two-orders");
  EXPECT_EQ(two.barrier_timeouts, 0);
  EXPECT_GE(two.Errors(db::kSqlstateDeadlockDetected), 1);  // forced by the pair barrier
  const StrategyResult& one = Find(report, "one-order");
  EXPECT_EQ(one.Errors(db::kSqlstateDeadlockDetected), 0);
  for (const StrategyResult* result : {&two, &one}) {
    EXPECT_EQ(result->succeeded, kClients * kIterations) << result->strategy;
    EXPECT_EQ(result->actual, kClients * kIterations) << result->strategy;
    EXPECT_EQ(result->violations, 0) << result->strategy;
  }
}

TEST(LabLockDuration, BothKeepEveryDecisionAndDeliverEveryNotification) {
  constexpr int kClients = 4, kIterations = 5;
  ScenarioReport report = RunOne(Small("lock-duration", kClients, kIterations));
  ASSERT_EQ(report.results.size(), 2u);
  for (const StrategyResult& result : report.results) {
    EXPECT_EQ(result.succeeded, kClients * kIterations) << result.strategy;
    EXPECT_EQ(result.actual, kClients * kIterations) << result.strategy;
    EXPECT_EQ(result.extra.at("notifications"), kClients * kIterations) << result.strategy;
    EXPECT_EQ(result.violations, 0) << result.strategy;
  }
  EXPECT_EQ(Find(report, "outbox").extra.at("outbox_delivered"), kClients * kIterations);
}

TEST(LabFkLock, EveryApplyLandsUnderEitherLock) {
  constexpr int kClients = 4, kIterations = 5;
  ScenarioReport report = RunOne(Small("fk-lock", kClients, kIterations));
  ASSERT_EQ(report.results.size(), 2u);
  for (const StrategyResult& result : report.results) {
    EXPECT_EQ(result.succeeded, (kClients - 1) * kIterations) << result.strategy;
    EXPECT_EQ(result.actual, (kClients - 1) * kIterations) << result.strategy;
    EXPECT_EQ(result.violations, 0) << result.strategy;
  }
}

TEST(LabForShare, UnlockedReadsSeeATornTotalForShareNever) {
  constexpr int kClients = 4, kIterations = 5, kReaders = kClients / 2;
  ScenarioReport report = RunOne(Small("for-share", kClients, kIterations));
  ASSERT_EQ(report.results.size(), 2u);
  const StrategyResult& none = Find(report, "none");
  EXPECT_EQ(none.barrier_timeouts, 0);
  // A transfer commits between every reader's first and second statement.
  EXPECT_EQ(none.extra.at("inconsistent_reads"), kReaders * kIterations);
  const StrategyResult& share = Find(report, "for-share");
  EXPECT_EQ(share.violations, 0);
  EXPECT_EQ(share.succeeded, kReaders * kIterations);
  for (const StrategyResult* result : {&none, &share}) EXPECT_EQ(result->actual, 400);
}

TEST(LabOptions, StrategyFilterRunsOnlyTheNamedRows) {
  LabOptions options = Small("lost-update", 2, 3);
  options.strategies = {"atomic"};
  ScenarioReport report = RunOne(options);
  ASSERT_EQ(report.results.size(), 1u);
  EXPECT_EQ(report.results[0].strategy, "atomic");
  EXPECT_EQ(report.results[0].actual, 6);
}

// Counts notifications on one channel of a listening connection.
class ChannelCounter : public pqxx::notification_receiver {
 public:
  ChannelCounter(pqxx::connection_base& connection, const std::string& channel)
      : pqxx::notification_receiver(connection, channel) {}
  void operator()(const std::string&, int) override { ++count; }
  int count = 0;
};

// The lab runs the real store and claim code, which notify the service's
// (database-wide) channels; on a shared database that would wake real
// workers and watchers. It must notify only channels of its own.
TEST(LabNotifications, NeverOnTheServiceChannels) {
  LabOptions options = Small("campaign-overflow", 2, 3);
  options.strategies = {"queue"};
  pqxx::connection listener(options.database_url);
  ChannelCounter pending(listener, "campaignq_pending");
  ChannelCounter decided(listener, "campaignq_decided");
  ScenarioReport report = RunOne(options);
  ASSERT_EQ(report.results.size(), 1u);
  EXPECT_EQ(report.results[0].actual, 6);  // the default cap (10) is above 6: all approved
  // Control: a notification on the channel does arrive. Delivered before
  // the reply to the listener's next statement, so nothing is pending.
  {
    pqxx::connection other(options.database_url);
    pqxx::nontransaction txn(other);
    txn.exec("NOTIFY campaignq_pending, 'control'");
  }
  pqxx::nontransaction(listener).exec("SELECT 1");
  listener.get_notifs();
  EXPECT_EQ(pending.count, 1);
  EXPECT_EQ(decided.count, 0);
}

TEST(LabDatabase, RefusesTheServiceDatabaseUnlessShared) {
  LabOptions options = Small("lost-update", 2, 2);
  options.strategies = {"atomic"};
  {
    auto connection = db::Connect(options.database_url, {});
    ASSERT_TRUE(connection.ok()) << connection.status();
    ASSERT_TRUE(db::Migrate(**connection, db::MigrateMode::kAuto).ok());
  }
  absl::StatusOr<LabReport> refused = RunLab(options);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition) << refused.status();
  EXPECT_TRUE(absl::StrContains(refused.status().message(), "--shared-database"));
  options.shared_database = true;
  ScenarioReport report = RunOne(options);
  ASSERT_EQ(report.results.size(), 1u);
  EXPECT_EQ(report.results[0].actual, 4);
}

}  // namespace
}  // namespace campaignq::lab
