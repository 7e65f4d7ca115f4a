#include "common/verify/storm.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace campaignq::verify {
namespace {

// Applications chosen for cancelling, handed from the Apply callers to the
// canceller. The canceller takes a random one once a few are waiting, so
// cancels reach applications at every stage, not just the newest.
class CancelQueue {
 public:
  void Push(CancelRecord record) {
    std::lock_guard<std::mutex> lock(mutex_);
    waiting_.push_back(record);
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
    changed_.wait(lock, [&] { return closed_ || waiting_.size() >= kPick; });
    if (waiting_.empty()) return false;
    const size_t i = absl::Uniform<size_t>(random, 0, waiting_.size());
    *out = waiting_[i];
    waiting_[i] = waiting_.back();
    waiting_.pop_back();
    return true;
  }

 private:
  static constexpr size_t kPick = 8;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<CancelRecord> waiting_;
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
        if (record.acknowledged && record.application_id != 0 && fraction > 0 &&
            absl::Bernoulli(random, fraction)) {
          to_cancel.Push({record.campaign_id, record.application_id});
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
