#pragma once
// Group commit for Apply: concurrent Applies share one transaction, so that
// one COMMIT (one WAL flush) makes a whole batch durable.

#include <condition_variable>
#include <cstdint>
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
#include "common/store/apply_queue.h"
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
// Apply that causes it.
//
// What waits, and who decides (apply_queue.h, no I/O): copies of a queued
// Apply (same campaign and user) join it and are answered from its write,
// so a flood of copies costs one write; each caller may fill only its
// share of the queue. A batch is written within the earliest deadline of
// its Applies: none is written after its caller stopped waiting.
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
    // Applies waiting for a writer at most (copies included), one caller
    // at most its share of them (CallerShare); beyond, RESOURCE_EXHAUSTED
    // at once (nothing stored). An Apply holds no thread while it waits, so
    // this, not a thread pool, bounds the memory a flood of callers (each
    // within its rate limit) can take while PostgreSQL is slow.
    int max_queued = 10000;
  };

  // Gets an Apply's outcome, exactly once, on one of the batcher's threads
  // (or on the caller's, when the deadline has passed already or the queue
  // refuses it). It must not block: the next batch waits for it.
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
  // already.
  //
  // `deadline`: this Apply is never written after it. Still queued when it
  // passes, it leaves the queue then. In a batch being written, the batch
  // is bounded by its earliest deadline (the wait for a connection, every
  // statement, and the start of COMMIT): when that passes first, the batch
  // is rolled back, the Applies out of time get DEADLINE_EXCEEDED at once
  // and the others are written again without them. So DEADLINE_EXCEEDED
  // means nothing of this Apply was committed (a COMMIT that began in time
  // ends with the outcome of its write). A copy of a queued Apply gets its
  // twin's outcome as TwinOutcome says, or DEADLINE_EXCEEDED at its own
  // deadline while it is still queued.
  //
  // RESOURCE_EXHAUSTED (nothing stored: retry) when max_queued Applies wait
  // already, or when `caller` (the principal's name, or the peer's address
  // for anonymous callers; "" for the store's own) has its share of them
  // waiting (CallerShare: half the queue alone, less while others wait).
  void ApplyAsync(int64_t campaign_id, std::string user_id, absl::Time deadline, Done done,
                  std::string caller = "");

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

  // Writes a batch within its earliest deadline, splitting it when that
  // passes (answering the Applies out of time at once), falling back to
  // one transaction per Apply if the batch transaction fails; sets the
  // result of every Apply left in `batch`.
  void Write(ApplyBatch& batch);
  // One transaction for these Applies, bounded by `deadline`; sets the
  // results when it commits.
  absl::Status WriteTogether(const std::vector<QueuedApply*>& batch, absl::Time deadline);
  // Gives each Apply its result, once.
  static void Answer(ApplyBatch& applies);

  db::ConnectionPool* const pool_;
  const Options options_;
  PendingNotifier notifier_;
  std::mutex mutex_;
  ApplyQueue queue_ ABSL_GUARDED_BY(mutex_);
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
