#pragma once
// A storm: many concurrent Applies (and, optionally, Cancels of some of the
// acknowledged ones while the workers decide; with holds, holders who
// confirm, release or let expire the holds they are offered), each with
// the kit's retry.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "campaignq/v1/campaignq.grpc.pb.h"
#include "common/verify/apply.h"

namespace campaignq::verify {

// Live counts, for progress output; any thread may read them.
struct StormCounters {
  std::atomic<int64_t> sent{0};              // Applies started
  std::atomic<int64_t> acknowledged{0};      // Applies acknowledged
  std::atomic<int64_t> unacknowledged{0};    // Applies given up on
  std::atomic<int64_t> cancelled{0};         // Cancels answered OK
  std::atomic<int64_t> held{0};              // holds seen
  std::atomic<int64_t> confirmed{0};         // Confirms answered OK
  std::atomic<int64_t> released{0};          // Releases answered OK
  std::atomic<int64_t> confirm_too_late{0};  // Confirms the expiry beat
};

// The holders of a storm over campaigns with a hold duration.
struct HoldOptions {
  // The campaigns whose holds to act on; empty: none (a storm without holds).
  std::vector<int64_t> campaign_ids;
  std::chrono::milliseconds hold_duration{0};
  // Shares of the holds seen, each chosen at random when the hold is first
  // seen: confirmed, released; the rest are left to expire. A confirm or
  // release is sent at a random moment within the hold duration after it
  // was seen, so some confirms race the expiry (and may lose it).
  double confirm_fraction = 0;
  double release_fraction = 0;
  // When the holders stop looking for holds even if some are still
  // outstanding or pending (the caller's decide deadline).
  SteadyTime give_up{};
  int actors = 4;  // concurrent Confirm / Release callers
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
  // With campaign_ids: one watcher lists each campaign's holds
  // (ListApplications, status HELD, every 50 ms) from the start until the
  // Applies have ended and nothing is pending or held; the actors confirm
  // and release. Stubs: `threads` + 1 is the watcher, the next ones the
  // actors.
  HoldOptions holds;
  StormCounters* counters = nullptr;  // optional
};

// What the storm did besides the Applies (those are in the records).
struct StormResult {
  std::vector<CancelRecord> cancels;
  std::vector<HoldRecord> holds;  // every hold seen, in the order seen
  // With holds: the watcher saw nothing pending or held after the Applies
  // (false: it gave up at holds.give_up).
  bool holds_settled = false;
};

// Applies every record (ApplyWithRetry) from options.threads threads, and
// cancels a random options.cancel_fraction of the acknowledged ones, and
// acts on the holds of options.holds. Returns when every Apply, Cancel,
// Confirm and Release has ended (with holds: once nothing is pending or
// held, or at holds.give_up). `records` must hold campaign_id and
// user_id; the rest is filled in.
StormResult RunStorm(std::vector<ApplyRecord>& records, const StormOptions& options);

}  // namespace campaignq::verify
