#include "server/limits/rate_limiter.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/status_details.h"

namespace campaignq::server {
namespace {

// Sweep full buckets once the table has this many keys (and then again at
// twice what survived a sweep).
constexpr size_t kFirstSweep = 4096;

}  // namespace

RateLimiter::RateLimiter(RateLimit limit, LimitsClock clock)
    : limit_(limit),
      burst_(std::max(1, limit.burst)),
      clock_(std::move(clock)),
      sweep_at_(kFirstSweep) {}

double RateLimiter::Refilled(const Bucket& bucket, absl::Time now) const {
  const double elapsed = std::max(0.0, absl::ToDoubleSeconds(now - bucket.updated));
  return std::min(burst_, bucket.tokens + elapsed * limit_.per_second);
}

void RateLimiter::ForgetFullBuckets(absl::Time now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    if (Refilled(it->second, now) >= burst_) {
      it = buckets_.erase(it);
    } else {
      ++it;
    }
  }
  sweep_at_ = std::max(kFirstSweep, 2 * buckets_.size());
}

absl::Status RateLimiter::Take(absl::string_view key, absl::string_view what, int tokens) {
  if (unlimited()) return absl::OkStatus();
  const double cost = std::max(1, tokens);
  if (cost > burst_) {
    absl::Status status = absl::ResourceExhaustedError(
        absl::StrCat("this call needs ", cost, " ", what, " at once, more than the burst of ",
                     burst_, ": split it into calls of at most ", burst_));
    SetErrorReason(status, "OVER_BURST");
    return status;
  }
  const absl::Time now = clock_();
  std::lock_guard<std::mutex> lock(mutex_);
  if (buckets_.size() >= sweep_at_) ForgetFullBuckets(now);
  auto [it, inserted] = buckets_.try_emplace(std::string(key), Bucket{burst_, now});
  Bucket& bucket = it->second;
  bucket.tokens = Refilled(bucket, now);
  bucket.updated = now;
  if (bucket.tokens >= cost) {
    bucket.tokens -= cost;
    return absl::OkStatus();
  }
  const absl::Duration wait = absl::Seconds((cost - bucket.tokens) / limit_.per_second);
  absl::Status status = absl::ResourceExhaustedError(absl::StrCat(
      "too many ", what, ": at most ", limit_.per_second, " per second (burst ", burst_,
      "); retry in ", absl::FormatDuration(absl::Ceil(wait, absl::Milliseconds(1)))));
  SetErrorReason(status, "RATE_LIMITED");
  SetRetryDelay(status, absl::Ceil(wait, absl::Milliseconds(1)));
  return status;
}

}  // namespace campaignq::server
