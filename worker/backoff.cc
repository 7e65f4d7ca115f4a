#include "worker/backoff.h"

#include <algorithm>

namespace campaignq::worker {

std::chrono::milliseconds JitteredDelay(const BackoffPolicy& policy, int attempt,
                                        absl::BitGen& random) {
  const int64_t initial = policy.initial.count();
  int64_t ceiling = initial << std::min(attempt, 20);
  ceiling = std::min<int64_t>(std::max<int64_t>(ceiling, 1), policy.max.count());
  return std::chrono::milliseconds(absl::Uniform<int64_t>(absl::IntervalClosed, random,
                                                          ceiling / 2, ceiling));
}

void CampaignCooldowns::Failed(int64_t campaign_id, Clock::time_point now) {
  Entry& entry = entries_[campaign_id];
  entry.until = now + JitteredDelay(policy_, entry.failures, random_);
  ++entry.failures;
}

void CampaignCooldowns::Succeeded(int64_t campaign_id) { entries_.erase(campaign_id); }

std::vector<int64_t> CampaignCooldowns::Active(Clock::time_point now) {
  std::vector<int64_t> active;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.until + 4 * policy_.max <= now) {
      it = entries_.erase(it);  // long quiet: start over at the short delay
      continue;
    }
    if (it->second.until <= now) {
      // Expired, but remember the failures for a while: a campaign that
      // keeps failing backs off longer each time.
      ++it;
      continue;
    }
    active.push_back(it->first);
    ++it;
  }
  return active;
}

}  // namespace campaignq::worker
