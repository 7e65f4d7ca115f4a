#pragma once
// A pool of worker threads, each with its own PostgreSQL connection,
// claiming and deciding batches until stopped.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "common/backoff.h"
#include "common/db/connect.h"
#include "common/db/notification_listener.h"
#include "common/queue/claim.h"
#include "worker/wake_signal.h"
#include "worker/worker_metrics.h"

namespace campaignq::worker {

struct WorkerOptions {
  std::string database_url;
  int concurrency = 4;  // threads, one connection each
  int batch_size = 100;
  // Capped campaigns one batch may lock (skip-locked mode). Each thread
  // starts at 1 and adapts: doubles while its batches come back short
  // (every campaign claimed ran dry), drops to the campaigns a full batch
  // actually used, and to 1 after a deterministic error.
  int max_campaigns_per_batch = 64;
  queue::LockMode lock_mode = queue::LockMode::kSkipLocked;
  // With no work, a thread sleeps until a NOTIFY on campaignq_pending (one
  // listener per process hands them to idle threads one at a time), or
  // this long at most (the polling fallback for lost notifications).
  std::chrono::milliseconds poll_interval{2000};
  // Woken for a campaign by a NOTIFY, a thread waits this much longer for
  // more before it decides them all in one transaction (WakeSignal::Wait):
  // fewer commits per decision, each decision up to this much later.
  std::chrono::microseconds decide_window{0};
  // Deterministic errors an application may cause before it is failed.
  int max_attempts = 3;
  BackoffPolicy campaign_backoff;  // transient errors per campaign
  BackoffPolicy reconnect_backoff{std::chrono::milliseconds(100), std::chrono::milliseconds(5000)};
  db::ConnectOptions connect{"campaignq-worker"};
};

class WorkerPool {
 public:
  // `metrics` must outlive the pool.
  WorkerPool(WorkerOptions options, WorkerMetrics* metrics);
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;
  ~WorkerPool();  // Stop()s

  // Starts the threads; each connects (retrying with backoff) and works.
  void Start();
  // Asks every thread to finish its current batch and exit, then joins
  // them. Never interrupts a transaction. Idempotent.
  void Stop();

  // For the worker's /livez: OK while every thread is making progress or
  // idle by choice (each loop turn, wait and back-off ends within
  // `max_silence`); UNAVAILABLE naming a thread stuck longer, e.g. in a
  // statement on a black-holed connection. A database outage is not a
  // liveness failure: threads then back off and retry, which is progress.
  absl::Status Liveness(std::chrono::steady_clock::duration max_silence) const;
  // For the worker's /readyz: OK while at least one thread holds an open
  // database connection; UNAVAILABLE otherwise.
  absl::Status Readiness() const;

 private:
  void RunThread(int index);
  // Sleeps for `delay`, or less when Stop() is called meanwhile.
  void PauseUnlessStopping(Clock::duration delay);

  const WorkerOptions options_;
  WorkerMetrics* const metrics_;
  std::atomic<bool> stopping_{false};
  WakeSignal wake_;
  std::vector<std::thread> threads_;
  // Per thread: when it last began a loop turn (steady clock, nanoseconds).
  std::unique_ptr<std::atomic<int64_t>[]> last_turn_;
  std::atomic<int> connected_threads_{0};
  // The candidate scan's low-water mark, one for all threads: rebased once
  // per period for the process (common/queue/claim_window.h).
  queue::ClaimWindow claim_window_;
  // LISTENs on campaignq_pending on its own connection and posts one
  // wake-up per NOTIFY, and one per (re)connect (notifications may have
  // been missed meanwhile). Starts nothing in pooler-safe mode.
  std::unique_ptr<db::NotificationListener> listener_;
};

}  // namespace campaignq::worker
