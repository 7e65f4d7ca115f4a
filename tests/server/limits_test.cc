// server/limits: the token buckets, the watch slots and the deadline cap,
// on an injected clock (no sleeps).

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/status_details.h"
#include "server/limits/call_limits.h"
#include "server/limits/rate_limiter.h"
#include "server/limits/watch_slots.h"

namespace campaignq::server {
namespace {

// A clock the test moves by hand.
struct FakeClock {
  absl::Time now = absl::FromUnixSeconds(1700000000);
  LimitsClock AsClock() {
    return [this] { return now; };
  }
};

TEST(RateLimiterTest, UnlimitedByDefaultAdmitsEverything) {
  RateLimiter limiter(RateLimit{});
  EXPECT_TRUE(limiter.unlimited());
  for (int i = 0; i < 10000; ++i) ASSERT_TRUE(limiter.Take("k").ok());
}

TEST(RateLimiterTest, BurstThenRefusedWithTheTimeUntilTheNextToken) {
  FakeClock clock;
  RateLimiter limiter(RateLimit{/*per_second=*/4, /*burst=*/3}, clock.AsClock());
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Take("alice").ok()) << i;
  const absl::Status refused = limiter.Take("alice", "Apply calls");
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(refused.message().find("Apply calls"), absl::string_view::npos) << refused;
  EXPECT_EQ(ErrorReason(refused), "RATE_LIMITED");
  ASSERT_TRUE(RetryDelay(refused).has_value());
  EXPECT_EQ(*RetryDelay(refused), absl::Milliseconds(250));  // 1 token at 4/s

  clock.now += absl::Milliseconds(100);
  const absl::Status still = limiter.Take("alice");
  EXPECT_EQ(still.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(*RetryDelay(still), absl::Milliseconds(150));

  clock.now += absl::Milliseconds(150);
  EXPECT_TRUE(limiter.Take("alice").ok());
  EXPECT_FALSE(limiter.Take("alice").ok());
}

TEST(RateLimiterTest, ACallOfNTokensTakesAllOrNone) {
  FakeClock clock;
  RateLimiter limiter(RateLimit{/*per_second=*/10, /*burst=*/10}, clock.AsClock());
  EXPECT_TRUE(limiter.Take("gateway", "Applies", 7).ok());
  // 3 left: 4 are refused whole, with the time until 4 are there.
  const absl::Status refused = limiter.Take("gateway", "Applies", 4);
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrorReason(refused), "RATE_LIMITED");
  EXPECT_EQ(*RetryDelay(refused), absl::Milliseconds(100));  // 1 more token at 10/s
  EXPECT_TRUE(limiter.Take("gateway", "Applies", 3).ok());
  EXPECT_FALSE(limiter.Take("gateway", "Applies", 1).ok());
}

TEST(RateLimiterTest, MoreTokensThanTheBurstAreNeverTakenAndSaySo) {
  FakeClock clock;
  RateLimiter limiter(RateLimit{/*per_second=*/10, /*burst=*/10}, clock.AsClock());
  const absl::Status refused = limiter.Take("gateway", "Applies", 11);
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrorReason(refused), "OVER_BURST");
  EXPECT_NE(refused.message().find("at most 10"), absl::string_view::npos) << refused;
  // Nothing was taken.
  EXPECT_TRUE(limiter.Take("gateway", "Applies", 10).ok());
}

TEST(RateLimiterTest, KeysHaveTheirOwnBuckets) {
  FakeClock clock;
  RateLimiter limiter(RateLimit{1, 1}, clock.AsClock());
  EXPECT_TRUE(limiter.Take("alice").ok());
  EXPECT_FALSE(limiter.Take("alice").ok());
  EXPECT_TRUE(limiter.Take("bob").ok());
}

TEST(RateLimiterTest, RefillStopsAtTheBurst) {
  FakeClock clock;
  RateLimiter limiter(RateLimit{10, 2}, clock.AsClock());
  EXPECT_TRUE(limiter.Take("k").ok());
  clock.now += absl::Hours(1);
  EXPECT_TRUE(limiter.Take("k").ok());
  EXPECT_TRUE(limiter.Take("k").ok());
  EXPECT_FALSE(limiter.Take("k").ok());
}

TEST(RateLimiterTest, ManyIdleKeysAreForgottenAndStillLimitedCorrectly) {
  FakeClock clock;
  RateLimiter limiter(RateLimit{1, 1}, clock.AsClock());
  for (int i = 0; i < 10000; ++i) ASSERT_TRUE(limiter.Take(std::to_string(i)).ok());
  EXPECT_FALSE(limiter.Take("9999").ok());  // still empty: not forgotten
  clock.now += absl::Seconds(2);
  for (int i = 10000; i < 20000; ++i) ASSERT_TRUE(limiter.Take(std::to_string(i)).ok());
  EXPECT_TRUE(limiter.Take("5").ok());  // refilled (forgotten or not)
}

TEST(WatchSlotsTest, PerKeyCapThenTotalCapAndSlotsComeBack) {
  WatchSlots slots(/*per_key=*/2, /*total=*/3, absl::Seconds(5));
  std::vector<WatchSlots::Slot> held;
  for (int i = 0; i < 2; ++i) {
    auto slot = slots.Take("alice");
    ASSERT_TRUE(slot.ok()) << slot.status();
    held.push_back(*std::move(slot));
  }
  absl::StatusOr<WatchSlots::Slot> third = slots.Take("alice");
  ASSERT_EQ(third.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrorReason(third.status()), "TOO_MANY_WATCHES");
  EXPECT_EQ(RetryDelay(third.status()), absl::Seconds(5));

  auto bob = slots.Take("bob");
  ASSERT_TRUE(bob.ok());
  absl::StatusOr<WatchSlots::Slot> carol = slots.Take("carol");
  ASSERT_EQ(carol.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrorReason(carol.status()), "SERVER_WATCHES_FULL");
  EXPECT_EQ(slots.open_total(), 3);

  held.pop_back();
  EXPECT_EQ(slots.open("alice"), 1);
  EXPECT_TRUE(slots.Take("carol").ok());  // taken and given back at once
  EXPECT_EQ(slots.open_total(), 2);
}

// Reflection streams use the same counting under their own names, which
// the e2e test and docs/limits.md name.
TEST(WatchSlotsTest, ReflectionSlotsSayWhatIsFull) {
  WatchSlots slots(/*per_key=*/1, /*total=*/2, absl::Seconds(5), kReflectionSlotNames);
  absl::StatusOr<WatchSlots::Slot> first = slots.Take("alice");
  ASSERT_TRUE(first.ok());
  absl::StatusOr<WatchSlots::Slot> second = slots.Take("alice");
  ASSERT_EQ(second.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrorReason(second.status()), "TOO_MANY_REFLECTION_STREAMS");
  EXPECT_EQ(second.status().message(),
            "too many open reflection streams for this caller (at most 1); end one or retry later");
  absl::StatusOr<WatchSlots::Slot> bob = slots.Take("bob");
  ASSERT_TRUE(bob.ok());
  absl::StatusOr<WatchSlots::Slot> carol = slots.Take("carol");
  ASSERT_EQ(carol.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrorReason(carol.status()), "SERVER_REFLECTION_STREAMS_FULL");
  EXPECT_EQ(RetryDelay(carol.status()), absl::Seconds(5));
}

TEST(CallLimitsTest, DeadlinesAreCappedAndMissingOnesGetTheCap) {
  FakeClock clock;
  LimitOptions options;
  options.max_call_deadline = absl::Seconds(30);
  CallLimits limits(options, clock.AsClock());
  EXPECT_EQ(limits.CapDeadline(absl::InfiniteFuture()), clock.now + absl::Seconds(30));
  EXPECT_EQ(limits.CapDeadline(clock.now + absl::Hours(1)), clock.now + absl::Seconds(30));
  EXPECT_EQ(limits.CapDeadline(clock.now + absl::Seconds(2)), clock.now + absl::Seconds(2));
  options.max_call_deadline = absl::ZeroDuration();
  CallLimits uncapped(options, clock.AsClock());
  EXPECT_EQ(uncapped.CapDeadline(absl::InfiniteFuture()), absl::InfiniteFuture());
}

TEST(CallLimitsTest, ApplyAndOtherCallsHaveSeparateBuckets) {
  FakeClock clock;
  LimitOptions options;
  options.apply_rate = {1, 1};
  options.call_rate = {1, 2};
  CallLimits limits(options, clock.AsClock());
  EXPECT_TRUE(limits.Admit(/*is_apply=*/true, "k").ok());
  EXPECT_FALSE(limits.Admit(/*is_apply=*/true, "k").ok());
  EXPECT_TRUE(limits.Admit(/*is_apply=*/false, "k").ok());
  EXPECT_TRUE(limits.Admit(/*is_apply=*/false, "k").ok());
  EXPECT_FALSE(limits.Admit(/*is_apply=*/false, "k").ok());
}

}  // namespace
}  // namespace campaignq::server
