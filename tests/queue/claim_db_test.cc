// db tier: the claim protocol's entry points that claim one campaign
// (common/queue/claim.h) against real PostgreSQL: a refused NOWAIT lock is a
// result, not an error, and leaves the connection usable.

#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/db/connect.h"
#include "common/db/migrator.h"
#include "common/queue/claim.h"
#include "gtest/gtest.h"
#include "support/test_postgres.h"

namespace campaignq {
namespace {

class ClaimDbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    url_ = testing::FreshDatabaseUrl(info->name());
    sql_ = Connect();
    ASSERT_TRUE(db::Migrate(*sql_, db::MigrateMode::kAuto).ok());
  }

  std::unique_ptr<db::Connection> Connect() {
    auto connection = db::Connect(url_, {});
    EXPECT_TRUE(connection.ok()) << connection.status();
    return connection.ok() ? *std::move(connection) : nullptr;
  }

  // A capped campaign with `rows` pending applications.
  int64_t Campaign(int rows) {
    pqxx::work txn(*sql_);
    const int64_t id =
        txn.exec1("INSERT INTO campaigns (name, max_participants) VALUES ('c', 10) RETURNING id")[0]
            .as<int64_t>();
    txn.exec_params(
        "INSERT INTO applications (campaign_id, user_id) "
        "SELECT $1, 'u' || g FROM generate_series(1, $2) g",
        id, rows);
    txn.commit();
    return id;
  }

  std::string url_;
  std::unique_ptr<db::Connection> sql_;
};

TEST_F(ClaimDbTest, ARefusedNowaitLockIsAResultAndTheConnectionStaysUsable) {
  const int64_t campaign = Campaign(2);
  std::unique_ptr<db::Connection> holder = Connect();
  auto held = std::make_unique<pqxx::work>(*holder);
  held->exec_params("SELECT id FROM campaigns WHERE id = $1 FOR NO KEY UPDATE", campaign);

  queue::ClaimProtocol claim(sql_.get());
  const queue::BatchResult refused = claim.DecideFairestNowait(10, {});
  ASSERT_TRUE(refused.status.ok()) << refused.status;
  EXPECT_TRUE(refused.lock_refused);
  EXPECT_EQ(refused.campaign_id, campaign);
  EXPECT_FALSE(refused.campaign_locked);
  EXPECT_TRUE(refused.decisions.empty());
  // Left out, as the worker does while it backs off: nothing else to claim.
  const queue::BatchResult excluded = claim.DecideFairestNowait(10, {campaign});
  ASSERT_TRUE(excluded.status.ok()) << excluded.status;
  EXPECT_FALSE(excluded.lock_refused);
  EXPECT_EQ(excluded.campaign_id, 0);

  held->abort();
  const queue::BatchResult decided = claim.DecideFairestNowait(10, {});
  ASSERT_TRUE(decided.status.ok()) << decided.status;
  EXPECT_FALSE(decided.lock_refused);
  EXPECT_EQ(decided.campaign_id, campaign);
  EXPECT_EQ(decided.decisions.size(), 2u);
}

TEST_F(ClaimDbTest, AnIsolatedHeadDecidesTheOldestPendingApplicationAlone) {
  const int64_t campaign = Campaign(3);
  queue::ClaimProtocol claim(sql_.get());
  const queue::BatchResult head = claim.DecideIsolatedHead(campaign);
  ASSERT_TRUE(head.status.ok()) << head.status;
  ASSERT_EQ(head.decisions.size(), 1u);
  EXPECT_EQ(head.decisions[0].application_id, head.isolated_application);
  pqxx::work txn(*sql_);
  EXPECT_EQ(txn.exec_params1("SELECT min(id) FROM applications WHERE campaign_id = $1", campaign)[0]
                .as<int64_t>(),
            head.isolated_application);
  txn.commit();
  // The rest, in one batch; then nothing: no head to isolate.
  EXPECT_EQ(claim.DecideCampaign(campaign, 10).decisions.size(), 2u);
  const queue::BatchResult none = claim.DecideIsolatedHead(campaign);
  ASSERT_TRUE(none.status.ok()) << none.status;
  EXPECT_TRUE(none.campaign_locked);
  EXPECT_EQ(none.isolated_application, 0);
  EXPECT_TRUE(none.decisions.empty());
}

}  // namespace
}  // namespace campaignq
