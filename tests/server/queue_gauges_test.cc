// server/queue_gauges.h without a database: each read is given a deadline
// kReadTimeout away, so that a count blocked on the table cannot hang a
// scrape (the db test ServerStackTest.HealthPingsWhileTheQueueGaugesQueryIsBlocked
// shows the store honouring it).

#include "server/queue_gauges.h"

#include <gtest/gtest.h>

#include <vector>

#include "absl/time/clock.h"

namespace campaignq::server {
namespace {

TEST(QueueGaugesTest, EachReadIsGivenTheReadTimeout) {
  metrics::Registry registry;
  std::vector<absl::Time> deadlines;
  QueueGauges gauges(
      &registry,
      [&](absl::Time deadline) -> absl::StatusOr<store::CampaignStore::QueueDepth> {
        deadlines.push_back(deadline);
        store::CampaignStore::QueueDepth depth;
        depth.pending = 7;
        return depth;
      },
      [] { return true; });
  const absl::Time before = absl::Now();
  const std::string text = registry.Render();
  const absl::Time after = absl::Now();
  EXPECT_NE(text.find("campaignq_queue_pending 7"), std::string::npos) << text;
  // One read serves the three gauges of a scrape.
  ASSERT_EQ(deadlines.size(), 1u);
  EXPECT_GE(deadlines[0], before + QueueGauges::kReadTimeout);
  EXPECT_LE(deadlines[0], after + QueueGauges::kReadTimeout);
}

}  // namespace
}  // namespace campaignq::server
