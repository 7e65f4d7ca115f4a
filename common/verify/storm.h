#pragma once
// A storm: many concurrent Applies (and, optionally, Cancels of some of the
// acknowledged ones while the workers decide), each with the kit's retry.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "campaignq/v1/campaignq.grpc.pb.h"
#include "common/verify/apply.h"

namespace campaignq::verify {

// Live counts, for progress output; any thread may read them.
struct StormCounters {
  std::atomic<int64_t> sent{0};            // Applies started
  std::atomic<int64_t> acknowledged{0};    // Applies acknowledged
  std::atomic<int64_t> unacknowledged{0};  // Applies given up on
  std::atomic<int64_t> cancelled{0};       // Cancels answered OK
};

struct StormOptions {
  int threads = 16;  // concurrent Apply callers, released together
  // A stub for caller `thread` (0..threads-1; `threads` is the canceller).
  std::function<std::unique_ptr<v1::CampaignQueue::Stub>(int thread)> new_stub;
  RetryPolicy retry;
  // The fraction of acknowledged applications to cancel, in [0, 1]. One
  // canceller thread cancels them in random order, each once a few dozen
  // later Applies were acknowledged, starting while the Applies still run,
  // so that cancels land on pending, approved, waitlisted and rejected
  // applications alike while workers decide.
  double cancel_fraction = 0;
  StormCounters* counters = nullptr;  // optional
};

// What the storm did besides the Applies (those are in the records).
struct StormResult {
  std::vector<CancelRecord> cancels;
};

// Applies every record (ApplyWithRetry) from options.threads threads, and
// cancels a random options.cancel_fraction of the acknowledged ones. Returns
// when every Apply and Cancel has ended. `records` must hold campaign_id and
// user_id; the rest is filled in.
StormResult RunStorm(std::vector<ApplyRecord>& records, const StormOptions& options);

}  // namespace campaignq::verify
