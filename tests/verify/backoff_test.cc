#include "common/backoff.h"

#include "gtest/gtest.h"

namespace campaignq {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

TEST(JitteredBackoff, StaysWithinHalfToFullOfTheDoublingCeiling) {
  absl::BitGen random;
  const BackoffPolicy policy{milliseconds(10), milliseconds(1000)};
  for (int attempt = 0; attempt < 12; ++attempt) {
    const int64_t ceiling = std::min<int64_t>(10000LL << attempt, 1000000);
    for (int i = 0; i < 50; ++i) {
      const int64_t wait = JitteredBackoff(policy, attempt, random).count();
      EXPECT_GE(wait, ceiling / 2) << attempt;
      EXPECT_LE(wait, ceiling) << attempt;
    }
  }
}

TEST(JitteredBackoff, SubMillisecondPoliciesAndHugeAttempts) {
  absl::BitGen random;
  const BackoffPolicy policy{microseconds(100), microseconds(3200)};
  EXPECT_LE(JitteredBackoff(policy, 0, random), microseconds(100));
  EXPECT_LE(JitteredBackoff(policy, 1 << 30, random), microseconds(3200));
  EXPECT_GE(JitteredBackoff(policy, -5, random), microseconds(50));
}

TEST(JitteredDelay, WholeMillisecondsAtLeastOne) {
  absl::BitGen random;
  const BackoffPolicy policy{microseconds(100), milliseconds(5)};
  EXPECT_EQ(JitteredDelay(policy, 0, random), milliseconds(1));
  EXPECT_LE(JitteredDelay(policy, 10, random), milliseconds(5));
}

TEST(CampaignCooldowns, FailedCoolsDownUntilExpiryAndSuccessEndsIt) {
  CampaignCooldowns cooldowns({milliseconds(10), milliseconds(100)});
  const Clock::time_point now = Clock::now();
  cooldowns.Failed(7, now);
  EXPECT_EQ(cooldowns.Active(now), std::vector<int64_t>{7});
  EXPECT_TRUE(cooldowns.Active(now + milliseconds(11)).empty());
  cooldowns.Failed(8, now);
  cooldowns.Succeeded(8);
  EXPECT_EQ(cooldowns.Active(now), std::vector<int64_t>{7});
}

}  // namespace
}  // namespace campaignq
