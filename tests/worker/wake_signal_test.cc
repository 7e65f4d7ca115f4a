// worker/wake_signal.h: wake-ups that name campaigns, each kept once and
// handed out oldest first, and anonymous ones. No database; no sleeps (every
// wake-up here is posted before the Wait that takes it).

#include "worker/wake_signal.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

namespace campaignq::worker {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

TEST(WakeSignalTest, NamedCampaignsAreKeptOnceAndHandedOutOldestFirst) {
  WakeSignal wake(4);
  wake.PostCampaign(7);
  wake.PostCampaign(3);
  wake.PostCampaign(7);  // already queued: coalesced
  wake.PostCampaign(9);
  const WakeSignal::Wake first = wake.Wait(milliseconds(0), 2, microseconds(0));
  EXPECT_TRUE(first.woken);
  EXPECT_EQ(first.campaigns, (std::vector<int64_t>{7, 3}));
  const WakeSignal::Wake second = wake.Wait(milliseconds(0), 2, microseconds(0));
  EXPECT_EQ(second.campaigns, std::vector<int64_t>{9});
  EXPECT_FALSE(wake.Wait(milliseconds(0), 2, microseconds(0)).woken);
  wake.PostCampaign(7);  // taken before: queued again
  EXPECT_EQ(wake.Wait(milliseconds(0), 2, microseconds(0)).campaigns, std::vector<int64_t>{7});
}

TEST(WakeSignalTest, AnonymousWakeUpsNameNothingAndAreCapped) {
  WakeSignal wake(2);
  for (int i = 0; i < 5; ++i) wake.Post();
  for (int i = 0; i < 2; ++i) {
    const WakeSignal::Wake one = wake.Wait(milliseconds(0), 8, microseconds(0));
    EXPECT_TRUE(one.woken);
    EXPECT_TRUE(one.campaigns.empty());
  }
  EXPECT_FALSE(wake.Wait(milliseconds(0), 8, microseconds(0)).woken);
}

TEST(WakeSignalTest, NamedCampaignsComeBeforeAnonymousWakeUps) {
  WakeSignal wake(2);
  wake.Post();
  wake.PostCampaign(5);
  EXPECT_EQ(wake.Wait(milliseconds(0), 8, microseconds(0)).campaigns, std::vector<int64_t>{5});
  const WakeSignal::Wake anonymous = wake.Wait(milliseconds(0), 8, microseconds(0));
  EXPECT_TRUE(anonymous.woken);
  EXPECT_TRUE(anonymous.campaigns.empty());
}

TEST(WakeSignalTest, AWindowTakesWhatWasQueuedAndEndsOnItsOwn) {
  WakeSignal wake(2);
  wake.PostCampaign(1);
  wake.PostCampaign(2);
  const WakeSignal::Wake taken = wake.Wait(milliseconds(0), 8, microseconds(200));
  EXPECT_EQ(taken.campaigns, (std::vector<int64_t>{1, 2}));
}

TEST(WakeSignalTest, InterruptReleasesAWaiter) {
  WakeSignal wake(2);
  std::thread waiter(
      [&] { EXPECT_FALSE(wake.Wait(milliseconds(60000), 8, microseconds(0)).woken); });
  wake.Interrupt();
  waiter.join();
}

}  // namespace
}  // namespace campaignq::worker
