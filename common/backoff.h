#pragma once
// The one retry backoff of campaignq: exponential growth with jitter, and a
// per-campaign cooldown list built on it. Everyone who waits before a retry
// uses it: the worker (reconnects, contended campaigns), the LISTEN loop,
// the verification kit's Apply-with-retry, the CLI and the race lab.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "absl/random/random.h"

namespace campaignq {

using Clock = std::chrono::steady_clock;

// The wait before retry number `attempt` (0 = the first retry) is drawn from
// [c/2, c] with c = min(initial * 2^attempt, max). Half-to-full jitter: the
// expected wait still grows, but clients refused together do not retry
// together.
struct BackoffPolicy {
  std::chrono::microseconds initial{std::chrono::milliseconds(10)};
  std::chrono::microseconds max{std::chrono::milliseconds(2000)};
};

// Returns the jittered wait before retry `attempt` (>= 0; negative counts as
// 0), at microsecond resolution. Never longer than policy.max.
std::chrono::microseconds JitteredBackoff(const BackoffPolicy& policy, int attempt,
                                          absl::BitGen& random);

// JitteredBackoff rounded down to whole milliseconds (at least 1 ms unless
// policy.max is shorter): what the worker sleeps and logs.
std::chrono::milliseconds JitteredDelay(const BackoffPolicy& policy, int attempt,
                                        absl::BitGen& random);

// Campaigns a worker thread leaves alone for a while after a transient
// error on them (lock refused, deadlock, serialization failure). The error
// never counts against an application; the campaign just waits its turn.
// Not thread-safe: one per worker thread.
class CampaignCooldowns {
 public:
  explicit CampaignCooldowns(BackoffPolicy policy) : policy_(policy) {}

  // Backs `campaign_id` off for a jittered delay that doubles with each
  // consecutive failure.
  void Failed(int64_t campaign_id, Clock::time_point now);
  // A success ends the campaign's backoff.
  void Succeeded(int64_t campaign_id);
  // Campaigns still cooling down at `now`.
  std::vector<int64_t> Active(Clock::time_point now);
  // When the first campaign still cooling down at `now` may be tried again;
  // nullopt when none is.
  std::optional<Clock::time_point> NextExpiry(Clock::time_point now) const;

 private:
  struct Entry {
    int failures = 0;
    Clock::time_point until;
  };
  BackoffPolicy policy_;
  absl::BitGen random_;
  std::map<int64_t, Entry> entries_;
};

}  // namespace campaignq
