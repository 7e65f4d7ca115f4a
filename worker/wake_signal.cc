#include "worker/wake_signal.h"

namespace campaignq::worker {

void WakeSignal::Post() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (pending_ < max_pending_) ++pending_;
  }
  changed_.notify_one();
}

bool WakeSignal::Wait(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait_for(lock, timeout, [this] { return interrupted_ || pending_ > 0; });
  if (interrupted_ || pending_ == 0) return false;
  --pending_;
  return true;
}

void WakeSignal::Interrupt() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    interrupted_ = true;
  }
  changed_.notify_all();
}

}  // namespace campaignq::worker
