#pragma once
// A reusable counting barrier with a timeout (std::barrier is C++20).
//
// The lab uses it only to widen race windows in the unsafe strategies, and
// only where the waiting threads hold no row lock that another party may be
// blocked on: PostgreSQL cannot see a wait on this barrier, so such a wait
// would be a deadlock it never breaks. The timeout is the safety net.

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace campaignq::lab {

class CountingBarrier {
 public:
  explicit CountingBarrier(int parties);
  CountingBarrier(const CountingBarrier&) = delete;
  CountingBarrier& operator=(const CountingBarrier&) = delete;

  // Waits until `parties` threads have arrived in this round (true), or
  // until `timeout` passes (false). A timeout breaks the barrier for good:
  // every current and later wait returns false at once, so one lost party
  // can slow a run down by one timeout, never hang it.
  bool ArriveAndWait(std::chrono::milliseconds timeout);

  // Breaks the barrier (a party leaves early, e.g. on a lost connection).
  void Break();
  bool broken() const;

 private:
  const int parties_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  int arrived_ = 0;
  long generation_ = 0;
  bool broken_ = false;
};

}  // namespace campaignq::lab
