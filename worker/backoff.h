#pragma once
// Exponential backoff with full jitter, and a per-campaign cooldown list.

#include <chrono>
#include <cstdint>
#include <map>
#include <vector>

#include "absl/random/random.h"

namespace campaignq::worker {

using Clock = std::chrono::steady_clock;

struct BackoffPolicy {
  std::chrono::milliseconds initial{10};
  std::chrono::milliseconds max{2000};
};

// A random delay in [initial*2^attempt / 2, initial*2^attempt], capped at
// max: spread out so that workers refused together do not retry together.
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

 private:
  struct Entry {
    int failures = 0;
    Clock::time_point until;
  };
  BackoffPolicy policy_;
  absl::BitGen random_;
  std::map<int64_t, Entry> entries_;
};

}  // namespace campaignq::worker
