#pragma once
// Token buckets keyed by a string (the caller: a principal name, or the
// peer's address before authentication). Thread-safe.
//
// Each key's bucket holds up to `burst` tokens and refills at `per_second`;
// a call takes one. Without a token: RESOURCE_EXHAUSTED carrying the time
// until the next token as its retry delay (common/status_details.h), which
// the server sends as google.rpc.RetryInfo. A full bucket is the same as no
// bucket, so full ones are forgotten when the table grows: memory stays
// bounded by the keys that are actually limited.

#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/limits/limit_options.h"

namespace campaignq::server {

// Time source; tests inject their own.
using LimitsClock = std::function<absl::Time()>;

class RateLimiter {
 public:
  // limit.per_second == 0: every call is admitted, nothing is stored.
  explicit RateLimiter(RateLimit limit, LimitsClock clock = absl::Now);
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // OK (a token taken), or RESOURCE_EXHAUSTED with a retry delay. `what`
  // names the limited calls in the message (e.g. "Apply calls").
  // `tokens` (>= 1) are taken at once or none: an ApplyBatch of N costs
  // what N Applies cost. More than the burst can never be taken: then
  // RESOURCE_EXHAUSTED with reason OVER_BURST and a message that says to
  // split the call (no retry delay of its own: waiting does not help).
  absl::Status Take(absl::string_view key, absl::string_view what = "calls", int tokens = 1);

  bool unlimited() const { return limit_.per_second <= 0; }

 private:
  struct Bucket {
    double tokens;
    absl::Time updated;
  };
  double Refilled(const Bucket& bucket, absl::Time now) const;
  void ForgetFullBuckets(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const RateLimit limit_;
  const double burst_;
  const LimitsClock clock_;
  std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mutex_);
  size_t sweep_at_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace campaignq::server
