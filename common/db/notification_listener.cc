#include "common/db/notification_listener.h"

#include <exception>
#include <memory>
#include <pqxx/pqxx>
#include <utility>

#include "absl/random/random.h"
#include "common/log.h"

namespace campaignq::db {
namespace {

constexpr char kComponent[] = "listener";

class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& connection, const std::string& channel,
           std::function<void(const std::string&)> deliver)
      : pqxx::notification_receiver(connection, channel), deliver_(std::move(deliver)) {}

  void operator()(const std::string& payload, int /*backend_pid*/) override { deliver_(payload); }

 private:
  std::function<void(const std::string&)> deliver_;
};

}  // namespace

NotificationListener::NotificationListener(NotificationListenerOptions options,
                                           NotificationCallback on_notification,
                                           ConnectedCallback on_connected)
    : options_(std::move(options)),
      on_notification_(std::move(on_notification)),
      on_connected_(std::move(on_connected)) {}

NotificationListener::~NotificationListener() { Stop(); }

void NotificationListener::Start() {
  std::lock_guard<std::mutex> lifecycle(lifecycle_mutex_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (started_ || stopping_ || options_.connect.pooler_safe) return;
    started_ = true;
  }
  thread_ = std::thread([this] { Run(); });
}

void NotificationListener::Stop() {
  std::lock_guard<std::mutex> lifecycle(lifecycle_mutex_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool NotificationListener::running() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return started_ && !stopping_;
}

bool NotificationListener::stopping() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stopping_;
}

NotificationListener::Counters NotificationListener::counters() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return counters_;
}

bool NotificationListener::WaitUntil(const std::function<bool(const Counters&)>& done,
                                     std::chrono::steady_clock::time_point deadline) const {
  std::unique_lock<std::mutex> lock(mutex_);
  return changed_.wait_until(lock, deadline, [&] { return done(counters_); });
}

int NotificationListener::backend_pid() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return backend_pid_;
}

template <typename Update>
void NotificationListener::Record(Update update) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    update();
  }
  changed_.notify_all();
}

bool NotificationListener::SleepUnlessStopping(std::chrono::milliseconds duration) {
  std::unique_lock<std::mutex> lock(mutex_);
  return !changed_.wait_for(lock, duration, [this] { return stopping_; });
}

void NotificationListener::Run() {
  absl::BitGen random;
  int failures = 0;
  while (!stopping()) {
    if (ListenOnce()) failures = 0;
    if (stopping()) break;
    const std::chrono::milliseconds delay =
        JitteredDelay(options_.reconnect_backoff, failures++, random);
    LogInfo(kComponent, "reconnecting to LISTEN ", options_.channel, " in ", delay.count(), " ms");
    if (!SleepUnlessStopping(delay)) break;
  }
  LogDebug(kComponent, "stopped listening on ", options_.channel);
}

bool NotificationListener::ListenOnce() {
  absl::StatusOr<std::unique_ptr<Connection>> connection =
      Connect(options_.database_url, options_.connect);
  if (!connection.ok()) {
    LogWarning(kComponent, "cannot connect: ", connection.status().ToString());
    Record([this] { ++counters_.connect_failures; });
    return false;
  }
  bool listening = false;
  try {
    // Declared after the connection, so destroyed (UNLISTEN) before it.
    Receiver receiver(**connection, options_.channel, [this](const std::string& payload) {
      on_notification_(payload);
      Record([this] { ++counters_.notifications; });
    });
    listening = true;
    uint64_t generation = 0;
    const int pid = (*connection)->backendpid();
    Record([&] {
      generation = ++counters_.connects;
      backend_pid_ = pid;
    });
    LogInfo(kComponent, "listening on ", options_.channel, " generation=", generation);
    // Notifications sent while we were not listening were never seen.
    on_connected_(generation);
    const long poll_us = static_cast<long>(
        std::chrono::duration_cast<std::chrono::microseconds>(options_.poll_interval).count());
    while (!stopping()) {
      // libpqxx 6 silently reports "no notifications" on a closed
      // connection; check, or a dead session would look like a quiet one.
      if (!(*connection)->is_open()) throw pqxx::broken_connection("listener connection closed");
      (*connection)->await_notification(poll_us / 1000000, poll_us % 1000000);
    }
  } catch (const std::exception& error) {
    LogWarning(kComponent, "LISTEN ", options_.channel, " connection lost: ", error.what());
  }
  Record([&] {
    backend_pid_ = 0;
    if (!listening) {
      ++counters_.connect_failures;
    } else if (!stopping_) {
      ++counters_.connection_losses;
    }
  });
  return listening;
}

}  // namespace campaignq::db
