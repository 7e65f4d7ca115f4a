// db tier: the claim's candidate window (common/queue/claim_window.h)
// against real PostgreSQL: paused campaigns do not crowd it, and a row that
// became pending below the low-water mark is claimed once the mark is
// rebased.

#include <chrono>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/db/connect.h"
#include "common/db/migrator.h"
#include "common/db/transaction.h"
#include "common/queue/claim.h"
#include "common/queue/claim_window.h"
#include "gtest/gtest.h"
#include "support/poll.h"
#include "support/test_postgres.h"

namespace campaignq {
namespace {

class ClaimWindowDbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    url_ = testing::FreshDatabaseUrl(info->name());
    auto connection = db::Connect(url_, {});
    ASSERT_TRUE(connection.ok()) << connection.status();
    sql_ = *std::move(connection);
    ASSERT_TRUE(db::Migrate(*sql_, db::MigrateMode::kAuto).ok());
  }

  // `count` capped campaigns (cap 1,000,000) with `rows` pending
  // applications each, the campaigns' rows interleaved in id order.
  std::vector<int64_t> Campaigns(int count, int rows, bool paused) {
    pqxx::work txn(*sql_);
    std::vector<int64_t> ids;
    for (const auto& row :
         txn.exec_params("INSERT INTO campaigns (name, max_participants, paused) "
                         "SELECT 'c' || g, 1000000, $2 FROM generate_series(1, $1) g RETURNING id",
                         count, paused)) {
      ids.push_back(row[0].as<int64_t>());
    }
    txn.exec_params(
        "INSERT INTO applications (campaign_id, user_id) "
        "SELECT ($1::bigint[])[1 + g % $2], 'u' || g FROM generate_series(0, $3 - 1) g ORDER BY g",
        db::BigintArrayLiteral(ids), count, static_cast<int64_t>(count) * rows);
    txn.commit();
    return ids;
  }

  int64_t Pending(int64_t campaign) {
    pqxx::work txn(*sql_);
    return txn
        .exec_params1(
            "SELECT count(*) FROM applications WHERE campaign_id = $1 AND status = 'pending'",
            campaign)[0]
        .as<int64_t>();
  }

  // An Apply to a new campaign, its row's id drawn now, that commits only
  // at Commit(): a row that becomes pending below the rows inserted after.
  struct LateApply {
    int64_t campaign = 0;
    std::unique_ptr<db::Connection> connection;
    std::unique_ptr<pqxx::work> txn;
    void Commit() { txn->commit(); }
  };
  LateApply StartLateApply() {
    LateApply late;
    late.campaign = Campaigns(1, 0, false)[0];
    auto connection = db::Connect(url_, {});
    EXPECT_TRUE(connection.ok()) << connection.status();
    late.connection = *std::move(connection);
    late.txn = std::make_unique<pqxx::work>(*late.connection);
    late.txn->exec_params("INSERT INTO applications (campaign_id, user_id) VALUES ($1, 'late')",
                          late.campaign);
    return late;
  }

  queue::BatchResult Claim(queue::ClaimWindow* window, int max_campaigns, int batch_size) {
    queue::WindowClaim claim;
    claim.max_campaigns = max_campaigns;
    claim.batch_size = batch_size;
    return queue::ClaimProtocol(sql_.get(), window).DecideByWindow(claim);
  }

  std::string url_;
  std::unique_ptr<db::Connection> sql_;
};

// Defect 9 of issue 19: 4 paused campaigns own the 2,000 oldest pending
// rows, far more than a window holds; behind them 12 open ones wait. A
// batch that may lock 8 campaigns locks 8, not the one campaign the
// fallback claim (CampaignClaimSkipLockedAnywhere) gives when the window
// holds nothing claimable.
TEST_F(ClaimWindowDbTest, PausedCampaignsHoldingTheOldestRowsDoNotCrowdTheWindow) {
  Campaigns(4, 500, /*paused=*/true);
  Campaigns(12, 5, /*paused=*/false);
  queue::ClaimWindow window;
  const queue::BatchResult result = Claim(&window, 8, 100);
  ASSERT_TRUE(result.status.ok()) << result.status;
  EXPECT_EQ(result.campaign_ids.size(), 8u);
  EXPECT_EQ(result.decisions.size(), 40u);
  // The window starts after the paused campaigns' rows (ids 1-2,000).
  EXPECT_GT(window.mark(), 2000);
}

// A row that becomes pending below the mark (here: an Apply whose id was
// drawn first but that commits after newer rows were decided) is not in
// the window until the next rebase; it is decided within one rebase period
// while another campaign's backlog keeps every window busy.
TEST_F(ClaimWindowDbTest, ARowPendingBelowTheMarkIsClaimedAfterTheNextRebase) {
  LateApply late = StartLateApply();
  const std::vector<int64_t> busy = Campaigns(1, 20000, false);
  queue::ClaimWindow::Options options;
  options.rebase_every = std::chrono::milliseconds(200);
  queue::ClaimWindow window(options);
  // The mark moves to the busy campaign's head, above the late row's id.
  ASSERT_TRUE(Claim(&window, 1, 1).status.ok());
  late.Commit();
  EXPECT_TRUE(testing::PollUntil(
      [&] {
        const queue::BatchResult result = Claim(&window, 1, 1);
        EXPECT_TRUE(result.status.ok()) << result.status;
        return Pending(late.campaign) == 0;
      },
      testing::Deadline(std::chrono::seconds(60))));
  EXPECT_GT(Pending(busy[0]), 0) << "the busy campaign ran dry: the window was never busy";
}

// The same late row when nothing else is pending: the claim reads an empty
// window and (the mark not yet due for a rebase) does not look at every
// campaign; the NOTIFY that came with the row names its campaign, and the
// worker passes it on (WindowClaim::hinted_campaigns): decided at once.
TEST_F(ClaimWindowDbTest, ALateRowComesWithItsCampaignNamedAndIsClaimedByName) {
  LateApply late = StartLateApply();
  Campaigns(1, 3, false);
  queue::ClaimWindow::Options options;
  options.rebase_every = std::chrono::hours(1);
  queue::ClaimWindow window(options);
  const queue::BatchResult first = Claim(&window, 1, 100);
  ASSERT_TRUE(first.status.ok()) << first.status;
  ASSERT_EQ(first.decisions.size(), 3u);
  late.Commit();
  const queue::BatchResult unnamed = Claim(&window, 1, 100);
  ASSERT_TRUE(unnamed.status.ok()) << unnamed.status;
  EXPECT_TRUE(unnamed.decisions.empty()) << "below the mark, unnamed: the next rebase's";
  queue::WindowClaim named;
  named.batch_size = 100;
  named.hinted_campaigns = {late.campaign};
  const queue::BatchResult result = queue::ClaimProtocol(sql_.get(), &window).DecideByWindow(named);
  ASSERT_TRUE(result.status.ok()) << result.status;
  ASSERT_EQ(result.decisions.size(), 1u);
  EXPECT_EQ(result.decisions[0].campaign_id, late.campaign);
}

}  // namespace
}  // namespace campaignq
