#pragma once
// Turns the campaignq_decided notifications (payload: campaign id; one per
// decided batch, per cancel and per close) into per-campaign generation
// counters that WatchApplication handlers wait on.
//
// One listener per server, holding ONE dedicated connection (a
// db::NotificationListener, which reconnects when it breaks). Watchers
// never touch that connection; they only wait on a condition variable, so
// any number of them costs no extra database sessions.
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
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "common/db/connect.h"
#include "common/db/notification_listener.h"

namespace campaignq::server {

struct DecisionListenerOptions {
  std::string database_url;
  // Shown in pg_stat_activity; set application_name to tell it apart. In
  // pooler-safe mode nothing listens (db::NotificationListener): watches
  // then rely on their re-read timeout alone.
  db::ConnectOptions connect;
};

class DecisionListener {
 public:
  explicit DecisionListener(DecisionListenerOptions options);
  DecisionListener(const DecisionListener&) = delete;
  DecisionListener& operator=(const DecisionListener&) = delete;
  ~DecisionListener();  // Stop()s.

  // Starts listening in the background and returns at once (a database
  // outage never blocks server start). Idempotent.
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

  // A number that changes whenever any campaign may have changed, and
  // waiting for it: the console's live view (server/console/console_live.h)
  // waits here (one thread, however many tabs are open).
  uint64_t AnyGeneration() const;
  uint64_t WaitForAnyChange(uint64_t seen, std::chrono::steady_clock::time_point deadline) const;

  // For the notification receiver (and tests): a notification arrived.
  void OnNotification(absl::string_view payload);

  // The LISTEN connection underneath, e.g. for tests to wait until it
  // listens (counters().connects > 0).
  const db::NotificationListener& connection() const { return notifications_; }

 private:
  void BumpAll();
  uint64_t GenerationLocked(int64_t campaign_id) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  // Per campaign: notifications seen. Entries are never erased; one per
  // campaign ever decided while this process ran, a few bytes each.
  std::unordered_map<int64_t, uint64_t> generations_ ABSL_GUARDED_BY(mutex_);
  // Bumped on every (re)connect and on an unparsable payload: changes the
  // generation of every campaign at once.
  uint64_t epoch_ ABSL_GUARDED_BY(mutex_) = 0;
  // Bumped with every notification and every epoch.
  uint64_t any_ ABSL_GUARDED_BY(mutex_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  // Declared last: its thread calls back into the members above, so it is
  // destroyed (stopped) first.
  db::NotificationListener notifications_;
};

}  // namespace campaignq::server
