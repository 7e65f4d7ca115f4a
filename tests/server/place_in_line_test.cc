// unit tier: the place-in-line arithmetic apart from the database: the
// estimate beyond the exact count (store::PlaceFromCounts), the wait
// estimator's rate, its unknowns and its memory bound
// (server/place_in_line.h), and when a watch re-reads its place
// (server/application_watch.h).

#include "server/place_in_line.h"

#include <gtest/gtest.h>

#include <chrono>

#include "common/store/place_in_line.h"
#include "server/application_watch.h"

namespace campaignq::server {
namespace {

using store::kExactPlaceLimit;
using store::PlaceFromCounts;

const absl::Time kStart = absl::FromUnixSeconds(1700000000);

TEST(PlaceFromCounts, ExactUpToTheLimit) {
  const store::Place place = PlaceFromCounts(kExactPlaceLimit, 5, 1, 900000);
  EXPECT_EQ(place.ahead, kExactPlaceLimit);
  EXPECT_FALSE(place.estimate);
  EXPECT_EQ(PlaceFromCounts(0, 0, 0, 7).ahead, 0);
}

TEST(PlaceFromCounts, BeyondTheLimitExtrapolatesTheWindowsDensity) {
  // 10,001 entries over the 30,003 keys [70,000, 100,003): one key in three.
  // The 69,999 keys from the head (1) to the window hold a third as many.
  const store::Place place = PlaceFromCounts(kExactPlaceLimit + 1, 70000, 1, 100003);
  EXPECT_TRUE(place.estimate);
  EXPECT_EQ(place.ahead, kExactPlaceLimit + 1 + 23333);
}

TEST(PlaceFromCounts, NeverLessThanWhatWasCounted) {
  // The window starts at the head: nothing to extrapolate.
  const store::Place place = PlaceFromCounts(kExactPlaceLimit + 1, 500, 500, 10501);
  EXPECT_EQ(place.ahead, kExactPlaceLimit + 1);
  EXPECT_TRUE(place.estimate);
}

TEST(PlaceFromCounts, APrequeueAheadOfTheArrivalsIsNotExtrapolatedByItsKeys) {
  // The head is pre-queued (a random key below 0, migration 0009): its key
  // distance to the arrivals' window is about 2^62 and says nothing of how
  // many are pre-queued. Only the arrivals from key 0 are extrapolated.
  const int64_t head = -(int64_t{1} << 61);
  const store::Place place = PlaceFromCounts(kExactPlaceLimit + 1, 70000, head, 100003);
  EXPECT_TRUE(place.estimate);
  EXPECT_EQ(place.ahead, kExactPlaceLimit + 1 + 23333);
}

TEST(WaitEstimator, UnknownUntilTwoSamplesASecondApartShowProgress) {
  WaitEstimator estimator;
  EXPECT_FALSE(estimator.Observe(1, Line::kPending, 100, kStart, 10).has_value());
  // Too close to measure a rate.
  EXPECT_FALSE(
      estimator.Observe(1, Line::kPending, 150, kStart + absl::Milliseconds(500), 10).has_value());
  // 100 decided in 2 s: 50/s, and 11 (10 ahead and itself) take 0.22 s: 1 s.
  const auto wait = estimator.Observe(1, Line::kPending, 200, kStart + absl::Seconds(2), 10);
  ASSERT_TRUE(wait.has_value());
  EXPECT_EQ(*wait, absl::Seconds(1));
  const auto longer = estimator.Observe(1, Line::kPending, 210, kStart + absl::Seconds(3), 999);
  ASSERT_TRUE(longer.has_value());
  // 110 in 3 s; 1,000 to go: 27.3 s, rounded up.
  EXPECT_EQ(*longer, absl::Seconds(28));
}

TEST(WaitEstimator, NoProgressIsUnknownNotInfinite) {
  WaitEstimator estimator;
  estimator.Observe(1, Line::kPending, 100, kStart, 3);
  EXPECT_FALSE(estimator.Observe(1, Line::kPending, 100, kStart + absl::Seconds(5), 3).has_value());
}

TEST(WaitEstimator, ProgressOlderThanTheWindowIsForgotten) {
  WaitEstimator estimator;
  estimator.Observe(1, Line::kPending, 0, kStart, 3);
  ASSERT_TRUE(estimator.Observe(1, Line::kPending, 100, kStart + absl::Seconds(10), 3).has_value());
  // Nothing moved for longer than the window: the old progress is not recent.
  EXPECT_FALSE(
      estimator.Observe(1, Line::kPending, 100, kStart + absl::Seconds(100), 3).has_value());
}

TEST(WaitEstimator, RateFollowsTheLastMinute) {
  WaitEstimator estimator;
  // 10/s for two minutes, sampled every second, then 100/s.
  int64_t counter = 0;
  absl::Time at = kStart;
  for (int i = 0; i < 120; ++i, at += absl::Seconds(1), counter += 10) {
    estimator.Observe(1, Line::kPending, counter, at, 0);
  }
  auto wait = estimator.Observe(1, Line::kPending, counter, at, 99);
  ASSERT_TRUE(wait.has_value());
  EXPECT_EQ(*wait, absl::Seconds(10));  // 100 at 10/s
  for (int i = 0; i < 70; ++i) {
    at += absl::Seconds(1);
    counter += 100;
    wait = estimator.Observe(1, Line::kPending, counter, at, 99);
  }
  ASSERT_TRUE(wait.has_value());
  EXPECT_EQ(*wait, absl::Seconds(1));  // 100 at 100/s
}

TEST(WaitEstimator, ACounterGoingDownStartsAgain) {
  WaitEstimator estimator;
  estimator.Observe(1, Line::kPending, 100, kStart, 0);
  ASSERT_TRUE(estimator.Observe(1, Line::kPending, 200, kStart + absl::Seconds(2), 0).has_value());
  // Failed applications retried: the decided count fell.
  EXPECT_FALSE(estimator.Observe(1, Line::kPending, 150, kStart + absl::Seconds(3), 0).has_value());
  EXPECT_TRUE(estimator.Observe(1, Line::kPending, 160, kStart + absl::Seconds(4), 0).has_value());
}

TEST(WaitEstimator, LinesAndCampaignsAreMeasuredApart) {
  WaitEstimator estimator;
  estimator.Observe(1, Line::kPending, 0, kStart, 0);
  estimator.Observe(1, Line::kWaitlisted, 0, kStart, 0);
  estimator.Observe(2, Line::kPending, 0, kStart, 0);
  const absl::Time later = kStart + absl::Seconds(10);
  EXPECT_EQ(estimator.Observe(1, Line::kPending, 10, later, 0), absl::Seconds(1));
  EXPECT_FALSE(estimator.Observe(1, Line::kWaitlisted, 0, later, 0).has_value());
  EXPECT_EQ(estimator.Observe(2, Line::kPending, 1, later, 0), absl::Seconds(10));
}

TEST(WaitEstimator, AnOlderSampleThanTheLastIsIgnored) {
  WaitEstimator estimator;
  estimator.Observe(1, Line::kPending, 0, kStart, 0);
  estimator.Observe(1, Line::kPending, 20, kStart + absl::Seconds(2), 0);
  EXPECT_FALSE(estimator.Observe(1, Line::kPending, 10, kStart + absl::Seconds(1), 0).has_value());
  EXPECT_EQ(estimator.Observe(1, Line::kPending, 30, kStart + absl::Seconds(3), 0),
            absl::Seconds(1));
}

TEST(WaitEstimator, RemembersAtMostMaxCampaignsTheLeastRecentlyReadGoFirst) {
  WaitEstimator::Options options;
  options.max_campaigns = 3;
  WaitEstimator estimator(options);
  for (int64_t campaign = 1; campaign <= 3; ++campaign) {
    estimator.Observe(campaign, Line::kPending, 0, kStart, 0);
  }
  estimator.Observe(1, Line::kPending, 0, kStart + absl::Milliseconds(1), 0);  // 1 read last
  estimator.Observe(4, Line::kPending, 0, kStart, 0);                          // 2 goes
  EXPECT_EQ(estimator.size(), 3u);
  const absl::Time later = kStart + absl::Seconds(10);
  EXPECT_TRUE(estimator.Observe(1, Line::kPending, 10, later, 0).has_value());
  EXPECT_TRUE(estimator.Observe(3, Line::kPending, 10, later, 0).has_value());
  // Forgotten: its first sample again (and 4 goes to make room).
  EXPECT_FALSE(estimator.Observe(2, Line::kPending, 10, later, 0).has_value());
  EXPECT_EQ(estimator.size(), 3u);
}

TEST(SetPlaceInLine, NoPlaceClearsEveryField) {
  WaitEstimator estimator;
  store::ApplicationInLine read;
  read.application.set_status(v1::APPLICATION_STATUS_APPROVED);
  v1::Application out;
  out.set_position(3);
  out.set_position_is_estimate(true);
  out.mutable_estimated_wait()->set_seconds(4);
  SetPlaceInLine(read, &estimator, &out);
  EXPECT_FALSE(out.has_position());
  EXPECT_FALSE(out.position_is_estimate());
  EXPECT_FALSE(out.has_estimated_wait());
}

TEST(SetPlaceInLine, WaitlistedUseTheFreedSeatsPendingTheDecisions) {
  WaitEstimator estimator;
  store::ApplicationInLine read;
  read.application.set_campaign_id(9);
  read.application.set_status(v1::APPLICATION_STATUS_WAITLISTED);
  read.place = store::Place{4, false};
  read.decided = 0;
  read.freed = 0;
  read.sampled = kStart;
  v1::Application out;
  SetPlaceInLine(read, &estimator, &out);
  EXPECT_EQ(out.position(), 4);
  EXPECT_FALSE(out.has_estimated_wait());
  read.decided = 1000;  // decisions do not move a waitlist
  read.freed = 1;
  read.sampled = kStart + absl::Seconds(2);
  SetPlaceInLine(read, &estimator, &out);
  ASSERT_TRUE(out.has_estimated_wait());
  EXPECT_EQ(out.estimated_wait().seconds(), 10);  // 5 seats at one per 2 s
}

TEST(PlaceReadDue, AtMostOnceASecondAndOnlyAfterAChangeOrTheFallback) {
  using std::chrono::milliseconds;
  EXPECT_FALSE(PlaceReadDue(milliseconds(999), true));
  EXPECT_TRUE(PlaceReadDue(kPlaceRefreshInterval, true));
  EXPECT_FALSE(PlaceReadDue(milliseconds(5000), false));
  EXPECT_TRUE(PlaceReadDue(kPlaceFallbackInterval, false));
}

}  // namespace
}  // namespace campaignq::server
