#pragma once
// Group commit for Apply: concurrent Applies share one transaction, so that
// one COMMIT (one WAL flush) makes a whole batch durable.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "campaignq/v1/campaignq.pb.h"
#include "common/db/pool.h"
#include "common/store/pending_notifier.h"

namespace campaignq::store {

// Apply(campaign, user) blocks until its application is committed, like a
// transaction of its own, but callers that arrive while a batch is being
// written are written together in the next one. No timer: a lone caller
// is written at once, so batching costs no latency when load is light.
//
// Each caller gets its own outcome: a batch statement never fails because
// of one bad Apply (unknown campaign, closed campaign and duplicates are
// rows of the result, not errors). If a batch transaction fails anyway, its
// Applies are retried one per transaction, so an error reaches only the
// Apply that causes it. The same (campaign, user) never goes twice into one
// batch: the later one waits for the next, and then sees the first.
class ApplyBatcher {
 public:
  struct Options {
    int max_batch = 64;   // Applies per transaction
    int max_writers = 4;  // batches being written at once (connections used)
  };

  // `pool` must outlive the batcher.
  ApplyBatcher(db::ConnectionPool* pool, Options options);
  ~ApplyBatcher();
  ApplyBatcher(const ApplyBatcher&) = delete;
  ApplyBatcher& operator=(const ApplyBatcher&) = delete;

  // The stored pending application once durable; NOT_FOUND, FAILED_PRECONDITION
  // (closed) or ALREADY_EXISTS as CampaignStore::Apply documents; UNAVAILABLE
  // or ABORTED for database trouble before COMMIT (nothing was stored:
  // retry); UNKNOWN when the connection was lost during COMMIT (it may be
  // stored: a retry answers ALREADY_EXISTS naming it). Inputs must be
  // validated already. `deadline` bounds the wait in the queue: an Apply
  // still queued when it passes leaves the queue and returns
  // DEADLINE_EXCEEDED (nothing stored). Once in a batch being written it
  // gets the batch's outcome, whatever the time: the batch's statements are
  // bounded by the latest deadline among its Applies, so one caller's short
  // deadline never cancels the others' writes.
  absl::StatusOr<v1::Application> Apply(int64_t campaign_id, const std::string& user_id,
                                        absl::Time deadline = absl::InfiniteFuture());

  struct Applicant {
    int64_t campaign_id;
    std::string user_id;
  };
  // Writes these Applies as one batch, now: one transaction, or one per
  // Apply if that fails with an error that may be about one Apply (see
  // Write() for which). Outcomes in input order, each as Apply() would
  // return it. The (campaign, user) pairs must be distinct. Apply() uses it
  // for the batches it forms; tests use it to choose a batch's content.
  std::vector<absl::StatusOr<v1::Application>> ApplyTogether(
      const std::vector<Applicant>& applicants);

 private:
  struct Request {
    Request(int64_t campaign_id, std::string user_id, absl::Time deadline)
        : campaign_id(campaign_id), user_id(std::move(user_id)), deadline(deadline) {}
    int64_t campaign_id;
    std::string user_id;
    absl::Time deadline;
    bool taken = false;  // in a batch (no longer in queue_)
    bool done = false;
    absl::StatusOr<v1::Application> result = absl::UnknownError("not written");
    // Each waiter has its own, so that a finished batch wakes exactly its
    // own callers and the next writer, not every waiting thread.
    std::condition_variable wake;
  };

  // Takes up to max_batch queued requests with distinct (campaign, user).
  std::vector<Request*> TakeBatch() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Writes a batch, falling back to one transaction per Apply if the
  // batch transaction fails; sets every request's result.
  void Write(const std::vector<Request*>& batch);
  // One transaction for the whole batch; sets the results when it commits.
  absl::Status WriteTogether(const std::vector<Request*>& batch);

  db::ConnectionPool* const pool_;
  const Options options_;
  PendingNotifier notifier_;
  std::mutex mutex_;
  std::deque<Request*> queue_ ABSL_GUARDED_BY(mutex_);
  int writers_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace campaignq::store
