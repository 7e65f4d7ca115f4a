#include "server/decision_listener.h"

#include <algorithm>
#include <exception>
#include <memory>
#include <pqxx/pqxx>
#include <utility>

#include "absl/strings/numbers.h"
#include "common/log.h"
#include "common/store/campaign_store.h"

namespace campaignq::server {
namespace {

constexpr char kComponent[] = "listener";

class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& connection, DecisionListener* listener)
      : pqxx::notification_receiver(connection, store::kDecidedChannel), listener_(listener) {}

  void operator()(const std::string& payload, int /*backend_pid*/) override {
    listener_->OnNotification(payload);
  }

 private:
  DecisionListener* listener_;
};

}  // namespace

DecisionListener::DecisionListener(DecisionListenerOptions options)
    : options_(std::move(options)) {}

DecisionListener::~DecisionListener() { Stop(); }

void DecisionListener::Start() {
  thread_ = std::thread([this] { Run(); });
}

void DecisionListener::Stop() {
  std::call_once(stop_once_, [this] {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    if (thread_.joinable()) thread_.join();
  });
}

bool DecisionListener::stopped() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stopping_;
}

uint64_t DecisionListener::GenerationLocked(int64_t campaign_id) const {
  auto it = generations_.find(campaign_id);
  // Both terms only grow, so their sum changes whenever either does.
  return epoch_ + (it == generations_.end() ? 0 : it->second);
}

uint64_t DecisionListener::Generation(int64_t campaign_id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return GenerationLocked(campaign_id);
}

uint64_t DecisionListener::WaitForChange(int64_t campaign_id, uint64_t seen,
                                         std::chrono::steady_clock::time_point deadline) const {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait_until(lock, deadline,
                      [&] { return stopping_ || GenerationLocked(campaign_id) != seen; });
  return GenerationLocked(campaign_id);
}

void DecisionListener::OnNotification(absl::string_view payload) {
  int64_t campaign_id = 0;
  if (!absl::SimpleAtoi(payload, &campaign_id)) {
    LogWarning(kComponent, "unexpected notification payload '", payload, "'; waking every watcher");
    BumpAll();
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++generations_[campaign_id];
  }
  // Every watcher wakes and compares its own campaign's generation: cheap
  // for the few dozen watchers the bounded sync thread pool can hold.
  changed_.notify_all();
}

void DecisionListener::BumpAll() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++epoch_;
  }
  changed_.notify_all();
}

bool DecisionListener::SleepUnlessStopping(std::chrono::milliseconds duration) {
  std::unique_lock<std::mutex> lock(mutex_);
  return !changed_.wait_for(lock, duration, [this] { return stopping_; });
}

void DecisionListener::Run() {
  std::chrono::milliseconds backoff = options_.min_backoff;
  while (!stopped()) {
    ListenOnce(&backoff);
    if (stopped()) break;
    LogInfo(kComponent, "reconnecting in ", backoff.count(), " ms");
    if (!SleepUnlessStopping(backoff)) break;
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
  LogInfo(kComponent, "stopped");
}

void DecisionListener::ListenOnce(std::chrono::milliseconds* backoff) {
  auto connection = db::Connect(options_.database_url, options_.connect);
  if (!connection.ok()) {
    LogWarning(kComponent, "cannot connect: ", connection.status().ToString());
    return;
  }
  try {
    // Declared after the connection, so destroyed (UNLISTEN) before it.
    Receiver receiver(**connection, this);
    LogInfo(kComponent, "listening on ", store::kDecidedChannel);
    *backoff = options_.min_backoff;
    // Decisions made while we were not listening were never seen.
    BumpAll();
    const long poll_us = static_cast<long>(
        std::chrono::duration_cast<std::chrono::microseconds>(options_.poll_interval).count());
    while (!stopped()) {
      // libpqxx 6 silently reports "no notifications" on a closed
      // connection; check, or a dead session would look like a quiet one.
      if (!(*connection)->is_open()) throw pqxx::broken_connection("listener connection closed");
      (*connection)->await_notification(poll_us / 1000000, poll_us % 1000000);
    }
  } catch (const std::exception& error) {
    LogWarning(kComponent, "connection lost: ", error.what());
  }
}

}  // namespace campaignq::server
