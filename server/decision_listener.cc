#include "server/decision_listener.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "common/log.h"
#include "common/store/campaign_store.h"

namespace campaignq::server {
namespace {

db::NotificationListenerOptions ListenOn(DecisionListenerOptions options) {
  db::NotificationListenerOptions listener;
  listener.database_url = std::move(options.database_url);
  listener.connect = std::move(options.connect);
  listener.channel = store::kDecidedChannel;
  return listener;
}

}  // namespace

DecisionListener::DecisionListener(DecisionListenerOptions options)
    : notifications_(
          ListenOn(std::move(options)),
          [this](absl::string_view payload) { OnNotification(payload); },
          // Decisions made while we were not listening were never seen.
          [this](uint64_t /*generation*/) { BumpAll(); }) {}

DecisionListener::~DecisionListener() { Stop(); }

void DecisionListener::Start() { notifications_.Start(); }

void DecisionListener::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  // Watchers first: they must not wait for the listening thread to end.
  changed_.notify_all();
  notifications_.Stop();
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

uint64_t DecisionListener::AnyGeneration() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return any_;
}

uint64_t DecisionListener::WaitForAnyChange(uint64_t seen,
                                            std::chrono::steady_clock::time_point deadline) const {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait_until(lock, deadline, [&] { return stopping_ || any_ != seen; });
  return any_;
}

void DecisionListener::OnNotification(absl::string_view payload) {
  int64_t campaign_id = 0;
  if (!absl::SimpleAtoi(payload, &campaign_id)) {
    LogWarning("listener", "unexpected notification payload '", payload, "'; waking every watcher");
    BumpAll();
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++generations_[campaign_id];
    ++any_;
  }
  // Every watcher wakes and compares its own campaign's generation: cheap
  // for the few dozen watchers the bounded sync thread pool can hold.
  changed_.notify_all();
}

void DecisionListener::BumpAll() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++epoch_;
    ++any_;
  }
  changed_.notify_all();
}

}  // namespace campaignq::server
