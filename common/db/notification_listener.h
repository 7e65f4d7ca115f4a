#pragma once
// LISTEN on one channel, on a dedicated connection, for as long as the
// process wants: the one loop behind the server's DecisionListener and the
// worker pool's wake-ups.
//
// LISTEN needs a session that stays open and outside any transaction,
// which a pooled connection cannot promise, so the listener owns its
// connection. When the connection breaks (PostgreSQL restarting, the
// session terminated, the network) it reconnects with jittered exponential
// backoff, forever, until Stop(). Notifications sent while it was not
// listening are lost: every successful LISTEN is reported (on_connected,
// with a generation that counts them) so users re-check what they watch.
//
// Through a transaction pooler (ConnectOptions::pooler_safe) LISTEN cannot
// work: Start() then starts nothing and users rely on their polling.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "common/backoff.h"
#include "common/db/connect.h"

namespace campaignq::db {

struct NotificationListenerOptions {
  std::string database_url;
  // Shown in pg_stat_activity; set application_name to tell it apart.
  ConnectOptions connect;
  std::string channel;
  // How long one wait for a notification blocks: bounds how long Stop()
  // takes and how late a silently closed connection is noticed.
  std::chrono::milliseconds poll_interval{200};
  // Between reconnect attempts; doubles (jittered) per consecutive failure.
  BackoffPolicy reconnect_backoff{std::chrono::milliseconds(100), std::chrono::milliseconds(5000)};
};

class NotificationListener {
 public:
  // Both callbacks run on the listener's thread, one at a time; they must
  // not block for long (the next notification waits) nor call Stop().
  // `payload` is the NOTIFY payload. `generation` counts successful LISTENs
  // (1 for the first): any notification before it may have been missed.
  using NotificationCallback = std::function<void(absl::string_view payload)>;
  using ConnectedCallback = std::function<void(uint64_t generation)>;

  // Progress so far; every field only grows.
  struct Counters {
    uint64_t connects = 0;           // successful LISTENs (== the last generation)
    uint64_t connection_losses = 0;  // a LISTENing connection broke
    uint64_t connect_failures = 0;   // attempts that could not connect or LISTEN
    uint64_t notifications = 0;      // delivered to on_notification
  };

  NotificationListener(NotificationListenerOptions options, NotificationCallback on_notification,
                       ConnectedCallback on_connected);
  NotificationListener(const NotificationListener&) = delete;
  NotificationListener& operator=(const NotificationListener&) = delete;
  ~NotificationListener();  // Stop()s

  // Starts the listening thread and returns at once: the first connect
  // happens in the background, so a database outage never blocks a
  // process's start. Idempotent; does nothing after Stop() or in
  // pooler-safe mode.
  void Start();
  // Ends the thread (within about poll_interval) and closes the
  // connection; no callback runs after it returns. Idempotent; fine
  // without Start().
  void Stop();
  // Whether a thread was started and not yet stopped.
  bool running() const;

  Counters counters() const;
  // Blocks until `done(counters())` holds (true) or `deadline` passes
  // (false). Lets tests and users wait on events instead of sleeping.
  bool WaitUntil(const std::function<bool(const Counters&)>& done,
                 std::chrono::steady_clock::time_point deadline) const;
  // The server process id of the LISTENing session (pg_backend_pid()), 0
  // while not connected.
  int backend_pid() const;

 private:
  void Run();
  // One connection's life; returns when it breaks or Stop() is called.
  // True when it got as far as LISTENing.
  bool ListenOnce();
  // Waits `duration` unless Stop() is called first; false when stopping.
  bool SleepUnlessStopping(std::chrono::milliseconds duration);
  bool stopping() const;
  template <typename Update>
  void Record(Update update);

  const NotificationListenerOptions options_;
  const NotificationCallback on_notification_;
  const ConnectedCallback on_connected_;

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  bool started_ ABSL_GUARDED_BY(mutex_) = false;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  Counters counters_ ABSL_GUARDED_BY(mutex_);
  int backend_pid_ ABSL_GUARDED_BY(mutex_) = 0;
  // Started and joined under lifecycle_mutex_ only.
  std::mutex lifecycle_mutex_;
  std::thread thread_;
};

}  // namespace campaignq::db
