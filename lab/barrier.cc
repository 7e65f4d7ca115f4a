#include "lab/barrier.h"

namespace campaignq::lab {

CountingBarrier::CountingBarrier(int parties) : parties_(parties < 1 ? 1 : parties) {}

bool CountingBarrier::ArriveAndWait(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (broken_) return false;
  const long generation = generation_;
  if (++arrived_ == parties_) {
    arrived_ = 0;
    ++generation_;
    changed_.notify_all();
    return true;
  }
  const bool released =
      changed_.wait_for(lock, timeout, [&] { return broken_ || generation_ != generation; });
  if (generation_ != generation) return true;
  if (!released) {
    broken_ = true;
    changed_.notify_all();
  }
  return false;
}

void CountingBarrier::Break() {
  std::lock_guard<std::mutex> lock(mutex_);
  broken_ = true;
  changed_.notify_all();
}

bool CountingBarrier::broken() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return broken_;
}

}  // namespace campaignq::lab
