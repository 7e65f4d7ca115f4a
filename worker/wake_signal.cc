#include "worker/wake_signal.h"

namespace campaignq::worker {

void WakeSignal::Post() {
  bool everyone;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (pending_ < max_pending_) ++pending_;
    everyone = collecting_ > 0;  // one notify might reach only a collector, which ignores it
  }
  if (everyone) {
    changed_.notify_all();
  } else {
    changed_.notify_one();
  }
}

void WakeSignal::PostCampaign(int64_t campaign_id) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (queued_.count(campaign_id) != 0) return;  // a thread will take it
    if (campaigns_.size() >= kMaxCampaigns) {
      if (pending_ < max_pending_) ++pending_;  // too many to name: the fairest first
    } else {
      campaigns_.push_back(campaign_id);
      queued_.insert(campaign_id);
    }
    if (collecting_ > 0) return;  // a thread in its window takes it
  }
  changed_.notify_one();
}

WakeSignal::Wake WakeSignal::Wait(std::chrono::milliseconds timeout, size_t max_campaigns,
                                  std::chrono::microseconds window) {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait_for(lock, timeout,
                    [this] { return interrupted_ || pending_ > 0 || !campaigns_.empty(); });
  Wake wake;
  if (interrupted_) return wake;
  auto take = [&] {
    while (!campaigns_.empty() && wake.campaigns.size() < max_campaigns) {
      wake.campaigns.push_back(campaigns_.front());
      queued_.erase(campaigns_.front());
      campaigns_.pop_front();
    }
  };
  if (!campaigns_.empty()) {
    wake.woken = true;
    take();
    if (window.count() > 0 && wake.campaigns.size() < max_campaigns) {
      ++collecting_;
      changed_.wait_for(lock, window, [this] { return interrupted_; });
      --collecting_;
      take();
    }
    // More than this thread takes: the next waiter's turn.
    if (!campaigns_.empty()) changed_.notify_one();
  } else if (pending_ > 0) {
    wake.woken = true;
    --pending_;
  }
  return wake;
}

void WakeSignal::Interrupt() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    interrupted_ = true;
  }
  changed_.notify_all();
}

}  // namespace campaignq::worker
