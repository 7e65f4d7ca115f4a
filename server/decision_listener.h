#pragma once
// Turns the campaignq_decided notifications (payload: campaign id; one per
// decided batch, per cancel and per close) into per-campaign generation
// counters that WatchApplication handlers wait on.
//
// One listener per server, holding ONE dedicated connection: LISTEN needs a
// session that stays open and outside any transaction, which a pooled
// connection cannot promise. Watchers never touch that connection; they
// only wait on a condition variable, so any number of them costs no extra
// database sessions.
//
// A notification can be lost (the listener reconnecting, PostgreSQL
// restarting). Watchers therefore also re-read on a timeout (see
// application_watch.h), and every (re)connect bumps every campaign's
// generation, since anything may have happened while we were not listening.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "common/db/connect.h"

namespace campaignq::server {

struct DecisionListenerOptions {
  std::string database_url;
  // Shown in pg_stat_activity; set application_name to tell it apart.
  db::ConnectOptions connect;
  // How long one await_notification() blocks: bounds how long Stop() waits.
  std::chrono::milliseconds poll_interval{200};
  // Reconnect backoff: doubles from min to max after each failure.
  std::chrono::milliseconds min_backoff{100};
  std::chrono::milliseconds max_backoff{5000};
};

class DecisionListener {
 public:
  explicit DecisionListener(DecisionListenerOptions options);
  DecisionListener(const DecisionListener&) = delete;
  DecisionListener& operator=(const DecisionListener&) = delete;
  ~DecisionListener();  // Stop()s.

  // Starts the listening thread; returns at once (the first connect happens
  // in the background, so a database outage never blocks server start).
  // Call at most once.
  void Start();
  // Stops listening, closes the connection and wakes every waiter. After
  // Stop(), WaitForChange returns at once and stopped() is true, which ends
  // every watch: this is how server shutdown reaches them. Idempotent.
  void Stop();
  bool stopped() const;

  // A number that changes whenever campaign `campaign_id` may have changed.
  uint64_t Generation(int64_t campaign_id) const;
  // Blocks until Generation(campaign_id) differs from `seen`, `deadline`
  // passes or the listener stops; returns the generation then.
  uint64_t WaitForChange(int64_t campaign_id, uint64_t seen,
                         std::chrono::steady_clock::time_point deadline) const;

  // For the notification receiver (and tests): a notification arrived.
  void OnNotification(absl::string_view payload);

 private:
  void Run();
  // One connection's lifetime: returns when it breaks or Stop() is called.
  void ListenOnce(std::chrono::milliseconds* backoff);
  // Waits `duration` unless Stop() is called first; false when stopping.
  bool SleepUnlessStopping(std::chrono::milliseconds duration);
  void BumpAll();
  uint64_t GenerationLocked(int64_t campaign_id) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const DecisionListenerOptions options_;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  // Per campaign: notifications seen. Entries are never erased; one per
  // campaign ever decided while this process ran, a few bytes each.
  std::unordered_map<int64_t, uint64_t> generations_ ABSL_GUARDED_BY(mutex_);
  // Bumped on every (re)connect and on an unparsable payload: changes the
  // generation of every campaign at once.
  uint64_t epoch_ ABSL_GUARDED_BY(mutex_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::once_flag stop_once_;
  std::thread thread_;
};

}  // namespace campaignq::server
