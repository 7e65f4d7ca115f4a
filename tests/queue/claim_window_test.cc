#include "common/queue/claim_window.h"

#include <chrono>

#include "gtest/gtest.h"

namespace campaignq::queue {
namespace {

using std::chrono::milliseconds;
using Clock = ClaimWindow::Clock;

WindowCampaign Campaign(int64_t id, int64_t head, int64_t last, int64_t rows, bool paused = false,
                        bool uncapped = false) {
  WindowCampaign c;
  c.campaign_id = id;
  c.head_id = head;
  c.last_id = last;
  c.rows = rows;
  c.paused = paused;
  c.uncapped = uncapped;
  return c;
}

TEST(PickCandidates, FairestFirstWithoutPausedOrExcluded) {
  const WindowPick pick =
      PickCandidates({Campaign(7, 30, 40, 2), Campaign(3, 10, 12, 2, /*paused=*/true),
                      Campaign(5, 20, 21, 2), Campaign(9, 15, 50, 3)},
                     /*excluded=*/{9}, 10);
  EXPECT_EQ(pick.capped, (std::vector<int64_t>{5, 7}));
  EXPECT_TRUE(pick.leading_uncapped.empty());
}

TEST(PickCandidates, LeadingUncappedUpToTheFirstCappedAndTheLimit) {
  const std::vector<WindowCampaign> window{
      Campaign(1, 10, 10, 1, false, true), Campaign(2, 11, 11, 1, false, true),
      Campaign(3, 12, 12, 1), Campaign(4, 13, 13, 1, false, true), Campaign(5, 14, 14, 1)};
  const WindowPick pick = PickCandidates(window, {}, 10);
  EXPECT_EQ(pick.leading_uncapped, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(pick.capped, (std::vector<int64_t>{3, 5}));
  EXPECT_EQ(PickCandidates(window, {}, 1).leading_uncapped, (std::vector<int64_t>{1}));
  EXPECT_TRUE(PickCandidates(window, {}, 1).capped.empty());
}

TEST(PickCandidates, AWindowOfPausedCampaignsIsEmpty) {
  EXPECT_TRUE(
      PickCandidates({Campaign(1, 1, 5, 5, true), Campaign(2, 2, 6, 5, true)}, {}, 8).empty());
}

ClaimWindow::Options SmallWindow() {
  ClaimWindow::Options options;
  options.window_rows = 10;
  options.rebase_every = milliseconds(1000);
  return options;
}

TEST(ClaimWindow, TheFirstClaimRebasesAndOnlyOneCallerAtATime) {
  ClaimWindow window(SmallWindow());
  const Clock::time_point t0 = Clock::now();
  EXPECT_FALSE(window.StartOrRebase(t0).has_value());
  // Another thread meanwhile: scans from the head, is not asked to rebase too.
  EXPECT_EQ(window.StartOrRebase(t0 + milliseconds(1)), 0);
  window.Rebased(500, t0 + milliseconds(2));
  EXPECT_EQ(window.StartOrRebase(t0 + milliseconds(3)), 500);
  // Due again one period later.
  EXPECT_FALSE(window.StartOrRebase(t0 + milliseconds(1003)).has_value());
}

TEST(ClaimWindow, ARebaseThatNeverAnsweredIsAskedOfAnotherCallerAPeriodLater) {
  ClaimWindow window(SmallWindow());
  const Clock::time_point t0 = Clock::now();
  EXPECT_FALSE(window.StartOrRebase(t0).has_value());  // its transaction then failed
  EXPECT_TRUE(window.StartOrRebase(t0 + milliseconds(999)).has_value());
  EXPECT_FALSE(window.StartOrRebase(t0 + milliseconds(1000)).has_value());
}

TEST(ClaimWindow, NothingClaimablePendingKeepsTheMark) {
  ClaimWindow window(SmallWindow());
  const Clock::time_point t0 = Clock::now();
  window.StartOrRebase(t0);
  window.Rebased(300, t0);
  window.StartOrRebase(t0 + milliseconds(2000));
  window.Rebased(std::nullopt, t0 + milliseconds(2000));
  EXPECT_EQ(window.mark(), 300);
}

TEST(ClaimWindow, TheMarkMovesToTheLowestHeadOfACampaignNotPaused) {
  ClaimWindow window(SmallWindow());
  // Paused campaign 1 holds the oldest rows; the mark skips them.
  EXPECT_EQ(window.Scanned(100, {Campaign(1, 100, 104, 5, true), Campaign(2, 102, 103, 2),
                                 Campaign(3, 101, 108, 3)}),
            109);  // full (10 rows): a further scan starts after it
  EXPECT_EQ(window.mark(), 101);
}

TEST(ClaimWindow, AWindowOfPausedCampaignsMovesTheMarkPastIt) {
  ClaimWindow window(SmallWindow());
  EXPECT_EQ(window.Scanned(0, {Campaign(1, 1, 20, 6, true), Campaign(2, 3, 25, 4, true)}), 26);
  EXPECT_EQ(window.mark(), 26);
}

TEST(ClaimWindow, AWindowNotFullHasNothingAfterIt) {
  ClaimWindow window(SmallWindow());
  EXPECT_FALSE(window.Scanned(0, {Campaign(1, 1, 20, 6, true)}).has_value());
  EXPECT_EQ(window.mark(), 21);
  EXPECT_FALSE(window.Scanned(21, {}).has_value());
  EXPECT_EQ(window.mark(), 21) << "an empty window says nothing about what is below its start";
}

TEST(ClaimWindow, ExcludedCampaignsHoldTheMarkDownForAfterTheirBackOff) {
  ClaimWindow window(SmallWindow());
  // Campaign 4 backs off (excluded from the pick) but is not paused: the
  // mark stays at its head, so that it is in the window again afterwards.
  window.Scanned(0, {Campaign(4, 5, 9, 2), Campaign(6, 7, 8, 2)});
  EXPECT_EQ(window.mark(), 5);
}

}  // namespace
}  // namespace campaignq::queue
