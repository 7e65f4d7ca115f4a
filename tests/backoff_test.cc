// CampaignCooldowns: which campaigns back off, and when the first may be
// tried again (the worker's idle wait ends then: worker/worker_pool.cc).

#include "common/backoff.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace campaignq {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

BackoffPolicy Policy() {
  BackoffPolicy policy;
  policy.initial = milliseconds(100);
  policy.max = milliseconds(1000);
  return policy;
}

TEST(CampaignCooldowns, AFailedCampaignBacksOffAndASuccessEndsIt) {
  CampaignCooldowns cooldowns(Policy());
  const Clock::time_point now = Clock::now();
  EXPECT_THAT(cooldowns.Active(now), IsEmpty());
  cooldowns.Failed(7, now);
  cooldowns.Failed(3, now);
  EXPECT_THAT(cooldowns.Active(now), ElementsAre(3, 7));
  // The first retry waits [initial/2, initial].
  EXPECT_THAT(cooldowns.Active(now + milliseconds(49)), ElementsAre(3, 7));
  EXPECT_THAT(cooldowns.Active(now + milliseconds(101)), IsEmpty());
  cooldowns.Succeeded(7);
  EXPECT_THAT(cooldowns.Active(now), ElementsAre(3));
}

TEST(CampaignCooldowns, NextExpiryIsWhenTheFirstBackOffEnds) {
  CampaignCooldowns cooldowns(Policy());
  const Clock::time_point now = Clock::now();
  EXPECT_FALSE(cooldowns.NextExpiry(now).has_value());

  cooldowns.Failed(1, now);                      // ends within [now + 50, now + 100] ms
  cooldowns.Failed(2, now + milliseconds(500));  // ends after now + 550 ms
  const std::optional<Clock::time_point> first = cooldowns.NextExpiry(now);
  ASSERT_TRUE(first.has_value());
  EXPECT_GE(*first, now + milliseconds(50));
  EXPECT_LE(*first, now + milliseconds(100));

  // Once campaign 1's has ended, campaign 2's is next; then none.
  const std::optional<Clock::time_point> second = cooldowns.NextExpiry(*first);
  ASSERT_TRUE(second.has_value());
  EXPECT_GE(*second, now + milliseconds(550));
  EXPECT_FALSE(cooldowns.NextExpiry(*second).has_value());

  // A success ends a back-off: nothing is left to wait for.
  cooldowns.Succeeded(1);
  cooldowns.Succeeded(2);
  EXPECT_FALSE(cooldowns.NextExpiry(now).has_value());
}

}  // namespace
}  // namespace campaignq
