#pragma once
// Hands wake-ups to idle worker threads one at a time, instead of every
// thread LISTENing and every NOTIFY waking them all to race for the same
// campaign (a wasted claim each). A wake-up names the campaign a NOTIFY
// campaignq_pending was sent for, when it named one: the thread then claims
// that campaign directly (queue::ClaimProtocol::DecideNotified) instead of
// scanning for the fairest.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <unordered_set>
#include <vector>

#include "absl/base/thread_annotations.h"

namespace campaignq::worker {

class WakeSignal {
 public:
  // At most `max_pending` anonymous wake-ups are kept for threads that are
  // busy: more would only make them claim in vain later. Named campaigns
  // are kept, each once, up to kMaxCampaigns (beyond: one anonymous wake-up).
  explicit WakeSignal(int max_pending) : max_pending_(max_pending) {}

  static constexpr size_t kMaxCampaigns = 65536;

  struct Wake {
    bool woken = false;              // false: timed out or interrupted
    std::vector<int64_t> campaigns;  // those it names, oldest first; none: claim the fairest
  };

  // One anonymous wake-up: releases one waiting thread, or the next that waits.
  void Post();
  // A wake-up for `campaign_id` (> 0): queued once however often it is
  // posted before a thread takes it (the Applies of a burst are decided in
  // one batch), oldest first.
  void PostCampaign(int64_t campaign_id);
  // Waits until a wake-up is available, `timeout` passes or Interrupt() is
  // called. Takes the named campaigns queued (at most `max_campaigns`), or
  // else one anonymous wake-up. With a `window`: having taken fewer than
  // `max_campaigns`, waits that much longer for more (threads that are
  // waiting are not woken for them meanwhile), so that the Applies that
  // arrive within it are decided in one transaction: added latency <= window.
  Wake Wait(std::chrono::milliseconds timeout, size_t max_campaigns,
            std::chrono::microseconds window);
  // Releases every waiter now and from now on (for Stop()).
  void Interrupt();

 private:
  const int max_pending_;
  std::mutex mutex_;
  std::condition_variable changed_;
  int pending_ ABSL_GUARDED_BY(mutex_) = 0;
  std::deque<int64_t> campaigns_ ABSL_GUARDED_BY(mutex_);
  std::unordered_set<int64_t> queued_ ABSL_GUARDED_BY(mutex_);  // = campaigns_
  // Threads inside their window: campaigns posted meanwhile are theirs.
  int collecting_ ABSL_GUARDED_BY(mutex_) = 0;
  bool interrupted_ ABSL_GUARDED_BY(mutex_) = false;
};

}  // namespace campaignq::worker
