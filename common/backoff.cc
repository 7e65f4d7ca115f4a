#include "common/backoff.h"

#include <algorithm>

namespace campaignq {

std::chrono::microseconds JitteredBackoff(const BackoffPolicy& policy, int attempt,
                                          absl::BitGen& random) {
  const int64_t max = std::max<int64_t>(policy.max.count(), 1);
  const int64_t initial = std::clamp<int64_t>(policy.initial.count(), 1, max);
  // Doubling stops at the cap (and long before int64 overflows).
  int64_t ceiling = initial;
  for (int i = 0; i < attempt && ceiling < max; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, max);
  return std::chrono::microseconds(
      absl::Uniform<int64_t>(absl::IntervalClosed, random, ceiling / 2, ceiling));
}

std::chrono::milliseconds JitteredDelay(const BackoffPolicy& policy, int attempt,
                                        absl::BitGen& random) {
  const auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(
      JitteredBackoff(policy, attempt, random));
  const auto floor = std::min<std::chrono::milliseconds>(
      std::chrono::milliseconds(1),
      std::chrono::duration_cast<std::chrono::milliseconds>(policy.max));
  return std::max(delay, floor);
}

void CampaignCooldowns::Failed(int64_t campaign_id, Clock::time_point now) {
  Entry& entry = entries_[campaign_id];
  entry.until = now + JitteredBackoff(policy_, entry.failures, random_);
  ++entry.failures;
}

void CampaignCooldowns::Succeeded(int64_t campaign_id) { entries_.erase(campaign_id); }

std::optional<Clock::time_point> CampaignCooldowns::NextExpiry(Clock::time_point now) const {
  std::optional<Clock::time_point> first;
  for (const auto& [campaign_id, entry] : entries_) {
    if (entry.until > now && (!first.has_value() || entry.until < *first)) first = entry.until;
  }
  return first;
}

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

}  // namespace campaignq
