#include "common/verify/storm.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <queue>
#include <set>
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

// The holders: a watcher that lists each campaign's holds and schedules
// what each holder does, and actors that send the Confirms and Releases
// when they are due.
class Holders {
 public:
  Holders(const StormOptions& options, std::atomic<bool>* applies_done)
      : options_(options), holds_(options.holds), applies_done_(applies_done) {}

  void Start() {
    watcher_ = std::thread([this] { Watch(); });
    for (int i = 0; i < holds_.actors; ++i) {
      actors_.emplace_back([this, i] { Act(options_.new_stub(options_.threads + 2 + i)); });
    }
  }

  // After Start(): waits for the watcher and the actors.
  void Join(StormResult* result) {
    watcher_.join();
    for (std::thread& actor : actors_) actor.join();
    result->holds.assign(records_.begin(), records_.end());
    result->holds_settled = settled_;
  }

 private:
  static constexpr auto kPoll = std::chrono::milliseconds(50);
  using Due = std::pair<SteadyTime, HoldRecord*>;

  // Ids of `campaign`'s applications with `status`: every page, or the
  // first `limit`. nullopt when a call failed (the next round asks again).
  std::optional<std::vector<int64_t>> List(v1::CampaignQueue::Stub& stub, int64_t campaign,
                                           v1::ApplicationStatus status, int limit) {
    std::vector<int64_t> ids;
    v1::ListApplicationsRequest request;
    request.set_campaign_id(campaign);
    request.set_status(status);
    request.set_page_size(limit > 0 ? limit : 1000);
    do {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + options_.retry.rpc_timeout);
      v1::ListApplicationsResponse page;
      if (!stub.ListApplications(&context, request, &page).ok()) return std::nullopt;
      for (const v1::Application& a : page.applications()) ids.push_back(a.id());
      request.set_page_token(page.next_page_token());
    } while (limit == 0 && !request.page_token().empty());
    return ids;
  }

  void Watch() {
    auto stub = options_.new_stub(options_.threads + 1);
    absl::BitGen random;
    std::set<int64_t> seen;
    while (std::chrono::steady_clock::now() < holds_.give_up) {
      // Nothing pending, then nothing held, after the last Apply and
      // Cancel: settled (a seat comes back only from a hold or a cancel,
      // so nothing can be offered after that).
      const bool applies_ended = *applies_done_;
      bool unsettled = !applies_ended;
      for (int64_t campaign : holds_.campaign_ids) {
        if (unsettled) break;
        auto pending = List(*stub, campaign, v1::APPLICATION_STATUS_PENDING, 1);
        unsettled = !pending || !pending->empty();
      }
      for (int64_t campaign : holds_.campaign_ids) {
        auto held = List(*stub, campaign, v1::APPLICATION_STATUS_HELD, 0);
        if (!held) {
          unsettled = true;
          continue;
        }
        if (!held->empty()) unsettled = true;
        for (int64_t id : *held) {
          if (!seen.insert(id).second) continue;
          Schedule(campaign, id, random);
        }
      }
      if (!unsettled) {
        settled_ = true;
        break;
      }
      // Paces the lists; what ends the loop is what they show.
      std::this_thread::sleep_for(kPoll);
    }
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    changed_.notify_all();
  }

  void Schedule(int64_t campaign, int64_t id, absl::BitGen& random) {
    HoldRecord record;
    record.campaign_id = campaign;
    record.application_id = id;
    const double draw = absl::Uniform(random, 0.0, 1.0);
    record.choice = draw < holds_.confirm_fraction ? HoldChoice::kConfirm
                    : draw < holds_.confirm_fraction + holds_.release_fraction
                        ? HoldChoice::kRelease
                        : HoldChoice::kExpire;
    const auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(
        holds_.hold_duration * absl::Uniform(random, 0.0, 1.0));
    if (options_.counters != nullptr) ++options_.counters->held;
    std::lock_guard<std::mutex> lock(mutex_);
    records_.push_back(record);
    if (record.choice == HoldChoice::kExpire) return;
    due_.push({std::chrono::steady_clock::now() + delay, &records_.back()});
    changed_.notify_one();
  }

  void Act(std::unique_ptr<v1::CampaignQueue::Stub> stub) {
    absl::BitGen random;
    for (;;) {
      HoldRecord* record = nullptr;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        for (;;) {
          if (!due_.empty() && due_.top().first <= std::chrono::steady_clock::now()) break;
          if (due_.empty() && closed_) return;
          if (due_.empty()) {
            changed_.wait(lock);
          } else {
            // A copy: wait_until reads its deadline while the lock is
            // released, when Schedule's push may move the queue's storage.
            const std::chrono::steady_clock::time_point next = due_.top().first;
            changed_.wait_until(lock, next);
          }
        }
        record = due_.top().second;
        due_.pop();
      }
      ActOnHoldWithRetry(*stub, options_.retry, random, record);
      if (options_.counters == nullptr) continue;
      if (record->done) {
        ++(record->choice == HoldChoice::kConfirm ? options_.counters->confirmed
                                                  : options_.counters->released);
      } else if (record->last_code == grpc::StatusCode::FAILED_PRECONDITION &&
                 record->choice == HoldChoice::kConfirm) {
        ++options_.counters->confirm_too_late;
      }
    }
  }

  const StormOptions& options_;
  const HoldOptions& holds_;
  std::atomic<bool>* applies_done_;
  std::thread watcher_;
  std::vector<std::thread> actors_;
  bool settled_ = false;  // the watcher's until Join()
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<HoldRecord> records_;  // stable addresses for due_
  std::priority_queue<Due, std::vector<Due>, std::greater<Due>> due_;
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

  std::atomic<bool> applies_done{false};
  std::optional<Holders> holders;
  if (!options.holds.campaign_ids.empty()) {
    holders.emplace(options, &applies_done);
    holders->Start();
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
  // Only now: a cancel of an approved seat offers it to the next in line.
  applies_done = true;
  if (holders) holders->Join(&result);
  return result;
}

}  // namespace campaignq::verify
