#include "common/verify/storm.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace campaignq::verify {
namespace {

// Applications chosen for cancelling, handed from the Apply callers to the
// canceller. One becomes eligible only after kLag more Applies were
// acknowledged (progress, not time), so cancels reach applications at every
// stage (pending, approved, waitlisted, rejected), not just the newest; the
// canceller takes a random eligible one. Closing makes every one eligible.
class CancelQueue {
 public:
  void Push(CancelRecord record) {
    std::lock_guard<std::mutex> lock(mutex_);
    waiting_.push_back({record, acknowledged_});
    changed_.notify_one();
  }
  void Acknowledged() {
    std::lock_guard<std::mutex> lock(mutex_);
    ++acknowledged_;
    changed_.notify_one();
  }
  void Close() {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    changed_.notify_one();
  }
  // Blocks until an application may be taken; false once closed and empty.
  bool Take(absl::BitGen& random, CancelRecord* out) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return closed_ || Eligible() > 0; });
    const size_t eligible = Eligible();
    if (eligible == 0) return false;
    const size_t i = absl::Uniform<size_t>(random, 0, eligible);
    *out = waiting_[i].record;
    waiting_.erase(waiting_.begin() + static_cast<std::ptrdiff_t>(i));
    return true;
  }

 private:
  static constexpr int64_t kLag = 64;
  struct Entry {
    CancelRecord record;
    int64_t acknowledged_before;
  };
  // The oldest entries whose lag has passed (all of them once closed).
  size_t Eligible() const {
    if (closed_) return waiting_.size();
    size_t n = 0;
    while (n < waiting_.size() && waiting_[n].acknowledged_before + kLag <= acknowledged_) ++n;
    return n;
  }
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Entry> waiting_;
  int64_t acknowledged_ = 0;
  bool closed_ = false;
};

}  // namespace

StormResult RunStorm(std::vector<ApplyRecord>& records, const StormOptions& options) {
  StormResult result;
  const double fraction = std::clamp(options.cancel_fraction, 0.0, 1.0);
  CancelQueue to_cancel;
  std::thread canceller;
  if (fraction > 0) {
    canceller = std::thread([&] {
      auto stub = options.new_stub(options.threads);
      absl::BitGen random;
      CancelRecord record;
      while (to_cancel.Take(random, &record)) {
        CancelWithRetry(*stub, options.retry, random, &record);
        if (record.cancelled && options.counters != nullptr) ++options.counters->cancelled;
        result.cancels.push_back(record);
      }
    });
  }

  std::atomic<size_t> next{0};
  std::mutex mutex;
  std::condition_variable go;
  bool released = false;
  std::vector<std::thread> callers;
  for (int t = 0; t < options.threads; ++t) {
    callers.emplace_back([&, t] {
      auto stub = options.new_stub(t);
      absl::BitGen random;
      {
        std::unique_lock<std::mutex> lock(mutex);
        go.wait(lock, [&] { return released; });
      }
      for (size_t i = next++; i < records.size(); i = next++) {
        ApplyRecord& record = records[i];
        if (options.counters != nullptr) ++options.counters->sent;
        ApplyWithRetry(*stub, options.retry, random, &record);
        if (options.counters != nullptr) {
          ++(record.acknowledged ? options.counters->acknowledged
                                 : options.counters->unacknowledged);
        }
        if (fraction > 0 && record.acknowledged) {
          if (record.application_id != 0 && absl::Bernoulli(random, fraction)) {
            to_cancel.Push({record.campaign_id, record.application_id});
          }
          to_cancel.Acknowledged();
        }
      }
    });
  }
  {
    std::lock_guard<std::mutex> lock(mutex);
    released = true;
  }
  go.notify_all();
  for (std::thread& caller : callers) caller.join();
  to_cancel.Close();
  if (canceller.joinable()) canceller.join();
  return result;
}

}  // namespace campaignq::verify
