#pragma once
// Group commit for Apply: concurrent Applies share one transaction, so that
// one COMMIT (one WAL flush) makes a whole batch durable.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "campaignq/v1/campaignq.pb.h"
#include "common/db/pool.h"
#include "common/store/pending_notifier.h"

namespace campaignq::store {

// ApplyAsync(campaign, user, deadline, done) queues an Apply and returns at
// once; `done` gets its outcome after its application is committed, as if
// it had a transaction of its own. Batches are written by a small fixed set
// of writer threads (Options::max_writers, started by the first Apply):
// whatever is queued when a writer is free goes into its next batch, so
// batches are as large as the load makes them (up to max_batch), and a lone
// Apply is written at once (no timer, no added latency when load is light).
// No thread waits per Apply, which is what lets the server answer Apply
// from gRPC's callback API.
//
// Each Apply gets its own outcome: a batch statement never fails because
// of one bad Apply (unknown campaign, closed campaign and duplicates are
// rows of the result, not errors). If a batch transaction fails anyway, its
// Applies are retried one per transaction, so an error reaches only the
// Apply that causes it. The same (campaign, user) never goes twice into one
// batch: the later one waits for the next, and then sees the first.
class ApplyBatcher {
 public:
  struct Options {
    // Applies per transaction at most: the batch is whatever is queued
    // when a writer is free, so it grows with load up to this.
    int max_batch = 256;
    // Batches being written at once: writer threads and connections used.
    // One: while it writes a batch, the next one fills, as large as the
    // load makes it. More writers make smaller batches and more
    // transactions, which cost PostgreSQL CPU: measured with 64 callers
    // through gRPC (fsync on, 2 cores shared with the callers), 1 writer
    // gave 8,100-15,300 Applies/s at 40 ms of PostgreSQL CPU per 1,000, 2
    // writers 8,300-11,500/s at 50-57 ms, side by side.
    int max_writers = 1;
    // Applies waiting for a writer at most; beyond, RESOURCE_EXHAUSTED at
    // once (nothing stored). An Apply holds no thread while it waits, so
    // this, not a thread pool, bounds the memory a flood of callers (each
    // within its rate limit) can take while PostgreSQL is slow.
    int max_queued = 10000;
  };

  // Gets an Apply's outcome, exactly once, on one of the batcher's threads
  // (or on the caller's, when the deadline has passed already). It must not
  // block: the next batch waits for it.
  using Done = std::function<void(absl::StatusOr<v1::Application>)>;

  // `pool` must outlive the batcher.
  ApplyBatcher(db::ConnectionPool* pool, Options options);
  // Writes what is queued, answers it, then stops its threads.
  ~ApplyBatcher();
  ApplyBatcher(const ApplyBatcher&) = delete;
  ApplyBatcher& operator=(const ApplyBatcher&) = delete;

  // `done` gets the stored pending application once durable (the reply
  // may be sent only then); NOT_FOUND, FAILED_PRECONDITION (closed) or
  // ALREADY_EXISTS as CampaignStore::Apply documents; UNAVAILABLE or
  // ABORTED for database trouble before COMMIT (nothing was stored: retry);
  // UNKNOWN when the connection was lost during COMMIT (it may be stored: a
  // retry answers ALREADY_EXISTS naming it). Inputs must be validated
  // already. `deadline` bounds the wait in the queue: an Apply still queued
  // when it passes leaves the queue and gets DEADLINE_EXCEEDED at its
  // deadline (nothing stored). Once in a batch being written it gets the
  // batch's outcome, whatever the time: the batch's statements are bounded
  // by the latest deadline among its Applies, so one caller's short
  // deadline never cancels the others' writes. RESOURCE_EXHAUSTED when
  // max_queued Applies wait already (nothing stored: retry).
  void ApplyAsync(int64_t campaign_id, std::string user_id, absl::Time deadline, Done done);

  // ApplyAsync, waiting for the outcome.
  absl::StatusOr<v1::Application> Apply(int64_t campaign_id, std::string user_id,
                                        absl::Time deadline = absl::InfiniteFuture());

  struct Applicant {
    int64_t campaign_id;
    std::string user_id;
  };
  // Writes these Applies as one batch, now, on the calling thread: one
  // transaction, or one per Apply if that fails with an error that may be
  // about one Apply (see Write() for which). Outcomes in input order, each
  // as ApplyAsync() would give it. The (campaign, user) pairs must be
  // distinct. Tests use it to choose a batch's content.
  std::vector<absl::StatusOr<v1::Application>> ApplyTogether(
      const std::vector<Applicant>& applicants);

 private:
  struct Request {
    int64_t campaign_id;
    std::string user_id;
    absl::Time deadline;
    Done done;
    absl::StatusOr<v1::Application> result = absl::UnknownError("not written");
  };
  using Batch = std::vector<std::unique_ptr<Request>>;

  // Starts the writers and the expiry thread on first use, so that a store
  // that never takes an Apply (the health check's) has no threads.
  void StartLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // A writer thread: takes the next batch whenever one is queued.
  void WriteLoop();
  // The expiry thread: only while every writer is busy can a queued Apply
  // outlive its deadline in the queue (a free writer takes or expires it
  // at once), so it sleeps until the earliest queued deadline only then.
  void ExpireLoop();
  // The earliest deadline in the queue while every writer is busy;
  // InfiniteFuture otherwise (nothing can expire unseen).
  absl::Time NextExpiryLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Wakes the expiry thread if it sleeps past NextExpiryLocked().
  void RescheduleExpiryLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Moves queued requests whose deadline is at or before `now` to `expired`.
  void TakeExpiredLocked(absl::Time now, Batch* expired) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Takes up to max_batch queued requests with distinct (campaign, user).
  Batch TakeBatchLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  // Writes a batch, falling back to one transaction per Apply if the
  // batch transaction fails; sets every request's result.
  void Write(const std::vector<Request*>& batch);
  // One transaction for the whole batch; sets the results when it commits.
  absl::Status WriteTogether(const std::vector<Request*>& batch);
  // Gives each request its result (DEADLINE_EXCEEDED for expired ones).
  static void Answer(Batch& requests);

  db::ConnectionPool* const pool_;
  const Options options_;
  PendingNotifier notifier_;
  std::mutex mutex_;
  std::deque<std::unique_ptr<Request>> queue_ ABSL_GUARDED_BY(mutex_);
  // Writers writing a batch (the others wait for work on work_).
  int busy_writers_ ABSL_GUARDED_BY(mutex_) = 0;
  // When the expiry thread wakes next (InfiniteFuture: when told).
  absl::Time expiry_wake_ ABSL_GUARDED_BY(mutex_) = absl::InfiniteFuture();
  bool started_ ABSL_GUARDED_BY(mutex_) = false;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::condition_variable work_;    // for idle writers
  std::condition_variable expiry_;  // for the expiry thread
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace campaignq::store
