#pragma once
// Hands wake-ups (one per NOTIFY campaignq_pending) to idle worker threads
// one at a time, instead of every thread LISTENing and every NOTIFY waking
// them all to race for the same campaign (a wasted claim each).

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "absl/base/thread_annotations.h"

namespace campaignq::worker {

class WakeSignal {
 public:
  // At most `max_pending` wake-ups are kept for threads that are busy: more
  // would only make them claim in vain later.
  explicit WakeSignal(int max_pending) : max_pending_(max_pending) {}

  // One wake-up: releases one waiting thread, or the next that waits.
  void Post();
  // Waits until a wake-up is available (consuming it: true), `timeout`
  // passes or Interrupt() is called (false).
  bool Wait(std::chrono::milliseconds timeout);
  // Releases every waiter now and from now on (for Stop()).
  void Interrupt();

 private:
  const int max_pending_;
  std::mutex mutex_;
  std::condition_variable changed_;
  int pending_ ABSL_GUARDED_BY(mutex_) = 0;
  bool interrupted_ ABSL_GUARDED_BY(mutex_) = false;
};

}  // namespace campaignq::worker
