#pragma once
// Worker heartbeats: each campaignq-worker process upserts one row of
// worker_heartbeats (sql/migrations/0003_worker_heartbeats.sql) every
// `interval`, on its own connection and its own short transaction, never
// inside a claim: the table shares no row, lock or index with the claim, so
// it adds no contention to deciding applications. The console's Workers page
// reads the rows back with ListWorkers.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/db/connect.h"
#include "common/db/pool.h"

namespace campaignq::store {

// What a worker process has done since it started (cumulative counters).
struct WorkerTotals {
  int64_t decided = 0;  // applications decided (approved, waitlisted, rejected)
  int64_t errors = 0;   // applications failed plus transient errors retried
};

struct WorkerHeartbeatOptions {
  std::string database_url;
  db::ConnectOptions connect;
  // Empty: DefaultWorkerId(host, pid, start). Unique per process.
  std::string worker_id;
  std::string host;  // empty: gethostname()
  int pid = 0;       // 0: getpid()
  std::string lock_mode;
  int threads = 0;
  std::chrono::milliseconds interval{2000};
  // Rows of workers not seen for this long are deleted (by any worker).
  std::chrono::seconds prune_after{3600};
  // Read once per beat; must be thread-safe. Null: zeros.
  std::function<WorkerTotals()> totals;
};

// "host:pid:start-microseconds".
std::string DefaultWorkerId(const std::string& host, int pid, int64_t started_micros);

class WorkerHeartbeat {
 public:
  explicit WorkerHeartbeat(WorkerHeartbeatOptions options);
  WorkerHeartbeat(const WorkerHeartbeat&) = delete;
  WorkerHeartbeat& operator=(const WorkerHeartbeat&) = delete;
  ~WorkerHeartbeat();  // Stop()s

  // Beats at once and then every interval, in a thread. A failed beat is
  // logged (once per outage) and retried at the next interval: an
  // unreachable database never stops the worker. Idempotent.
  void Start();
  // Ends the thread and writes a last beat marking the worker stopped (best
  // effort: a worker that cannot reach its database then reads as gone).
  // Idempotent; fine without Start.
  void Stop();

  // One beat now, on the caller's thread (the thread uses it; so can tests).
  // `stopped` marks the clean end. UNAVAILABLE etc. as in campaign_store.h.
  absl::Status BeatOnce(bool stopped = false);

  const std::string& worker_id() const { return worker_id_; }

 private:
  struct Sample {
    std::chrono::steady_clock::time_point at;
    WorkerTotals totals;
  };
  // Totals now minus totals about a minute ago.
  WorkerTotals LastMinute() ABSL_EXCLUSIVE_LOCKS_REQUIRED(beat_mutex_);
  void Run();

  const WorkerHeartbeatOptions options_;
  const std::string host_;
  const int pid_;
  const int64_t started_micros_;
  const std::string worker_id_;
  db::ConnectionPool pool_;  // one connection

  std::mutex beat_mutex_;  // one beat at a time
  std::deque<Sample> samples_ ABSL_GUARDED_BY(beat_mutex_);
  int beats_ ABSL_GUARDED_BY(beat_mutex_) = 0;

  std::mutex mutex_;
  std::condition_variable stop_requested_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  bool started_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

// One worker_heartbeats row as the console shows it.
struct WorkerStatus {
  enum class State { kAlive, kStopped, kGone };
  std::string worker_id;
  std::string host;
  int pid = 0;
  std::string lock_mode;
  int threads = 0;
  int64_t interval_ms = 0;
  int64_t started_micros = 0;    // since the epoch
  int64_t last_seen_micros = 0;  // since the epoch
  int64_t stopped_micros = 0;    // 0: not stopped
  int64_t decided_last_minute = 0;
  int64_t errors_last_minute = 0;
  // Age of the last beat by the database's clock.
  int64_t seen_ago_micros = 0;
  // kStopped: stopped cleanly; kGone: no beat for more than
  // kGoneAfterIntervals intervals; kAlive otherwise.
  State state = State::kAlive;
};

inline constexpr int kGoneAfterIntervals = 3;

const char* WorkerStateName(WorkerStatus::State state);  // "alive", "stopped", "gone"

// Every worker with a row, oldest start first. Errors as in campaign_store.h.
absl::StatusOr<std::vector<WorkerStatus>> ListWorkers(db::ConnectionPool* pool);

}  // namespace campaignq::store
