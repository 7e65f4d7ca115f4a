#pragma once
// The Apply queue's decisions, apart from the batcher's threads and I/O
// (apply_batcher.h): who may queue (a share of the queue per caller), which
// Applies are copies answered from their twin's write, which leave at their
// deadline, and what bounds a batch's write. No locks and no clock of its
// own: the batcher calls it under its mutex and passes the time.

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "campaignq/v1/campaignq.pb.h"

namespace campaignq::store {

// One Apply waiting for its outcome.
struct QueuedApply {
  int64_t campaign_id = 0;
  std::string user_id;
  // Whose Apply it is, for the shares of the queue: the principal's name
  // (the peer's address for anonymous callers), as the rate limits key it.
  std::string caller;
  absl::Time deadline = absl::InfiniteFuture();
  // Gets `result` once, when the batcher answers (nullptr once answered).
  std::function<void(absl::StatusOr<v1::Application>)> done;
  absl::StatusOr<v1::Application> result = absl::UnknownError("not written");
  // Copies of this Apply (same campaign and user) that arrived while it
  // was queued, oldest first: written by this one's write, answered from
  // its outcome (SettleTwins).
  std::vector<std::unique_ptr<QueuedApply>> twins;
};
using ApplyBatch = std::vector<std::unique_ptr<QueuedApply>>;

// The most Applies one caller may have waiting while `callers` callers
// (itself included) have some: max_queued / (callers + 1), at least 1.
// The "+ 1" leaves room for one more caller however full the others'
// shares are: a caller alone gets half the queue, never all of it.
int CallerShare(int max_queued, int callers);

// The Applies waiting for a writer, in arrival order, at most max_queued of
// them (copies included). Each (campaign, user) is queued once: a copy
// joins the queued one as its twin, so a flood of copies costs one write.
class ApplyQueue {
 public:
  explicit ApplyQueue(int max_queued);
  ApplyQueue(const ApplyQueue&) = delete;
  ApplyQueue& operator=(const ApplyQueue&) = delete;

  // Queues `apply` (and takes it: null after OK) behind the others, or as
  // a twin of the queued Apply of its campaign and user. Refuses it (left
  // to the caller to answer) with RESOURCE_EXHAUSTED when max_queued
  // Applies wait (ErrorInfo reason APPLY_QUEUE_FULL) or when its caller has
  // CallerShare() of them waiting already (APPLY_QUEUE_SHARE); the message
  // says which, and that a retry once some are answered gets in.
  absl::Status Admit(std::unique_ptr<QueuedApply>& apply);
  // Queues again, at the front and whatever the bounds, an Apply taken
  // earlier that must be written after all (SettleTwins' heir); a twin of
  // the Apply of the same key queued meanwhile, if any.
  void PutBack(std::unique_ptr<QueuedApply> apply);

  // No Apply waits.
  bool empty() const { return order_.empty(); }
  // Applies waiting, twins included.
  int size() const { return waiting_; }
  // The earliest deadline among the waiting Applies, twins included
  // (InfiniteFuture when none waits).
  absl::Time EarliestDeadline() const;

  // Moves every waiting Apply whose deadline is at or before `now` (twins
  // included) to `expired`, with `exceeded` as its result. A queued Apply
  // that leaves hands its place to its oldest twin still in time.
  void TakeExpired(absl::Time now, const absl::Status& exceeded, ApplyBatch* expired);
  // Takes up to `max_batch` Applies (at least 1) from the front, with their
  // twins; their (campaign, user) keys are distinct.
  ApplyBatch TakeBatch(size_t max_batch);

 private:
  using Key = std::pair<int64_t, std::string>;
  using Order = std::list<std::unique_ptr<QueuedApply>>;

  void Count(const QueuedApply& apply, int delta);
  void CountWithTwins(const QueuedApply& apply, int delta);

  const int max_queued_;
  Order order_;
  absl::flat_hash_map<Key, Order::iterator> by_key_;
  absl::flat_hash_map<std::string, int> waiting_by_caller_;
  int waiting_ = 0;
};

// The deadline that bounds a batch's write (its connection wait, its
// statements, the start of its COMMIT): the earliest among its Applies,
// so that none is written after its caller stopped waiting. Twins do not
// count: their outcome is their twin's, and a twin out of time gets
// DEADLINE_EXCEEDED while the write stores what its twin asked for.
absl::Time BatchDeadline(const ApplyBatch& batch);

// After a batch's write, bounded by `bound` (BatchDeadline), ended
// DEADLINE_EXCEEDED at `now`: moves each Apply of `batch` whose deadline
// is at or before max(now, bound) (at least the one that cut the write) to
// `answered` with `exceeded`, with its twins settled (SettleTwins); an
// heir takes its place in `batch`. What is left of `batch` is to be
// written again: every write removes at least one Apply for good or a
// twin from its twin, so the rewrites end.
void SplitAtDeadline(ApplyBatch& batch, absl::Time bound, absl::Time now,
                     const absl::Status& exceeded, ApplyBatch* answered);

// Once `leader`'s result is set: moves its twins to `answered`, each with
// TwinOutcome of that result, except when that outcome says nothing about
// them. Then the oldest twin whose deadline is after `now` is returned,
// the heir, carrying the younger ones as its twins, to be written itself;
// twins out of time get `exceeded`. nullptr when there is no heir.
std::unique_ptr<QueuedApply> SettleTwins(QueuedApply& leader, absl::Time now,
                                         const absl::Status& exceeded, ApplyBatch* answered);

// ALREADY_EXISTS for an Apply of a user whose `application` to the
// campaign is stored (ErrorInfo reason ALREADY_APPLIED, metadata
// application_id, status, campaign_id), as ApplyOutcome gives it.
absl::Status AlreadyApplied(int64_t campaign_id, const std::string& user_id,
                            const v1::Application& application);

// The outcome of a copy whose twin (an Apply of the same campaign and user
// written while the copy waited) got `twin`: what the copy would have got
// written right after the twin, in the copy's own time (it was queued
// before the twin's write began and is answered after it), so that a copy
// costs no write. The twin stored its application: ALREADY_EXISTS naming
// it. Any other outcome (not found, closed, not yet open, already applied,
// a database error that stored nothing): the same. nullopt when the
// twin's outcome says nothing about the copy, which must then be written
// itself: DEADLINE_EXCEEDED (the twin's deadline, not the copy's) and
// UNKNOWN (the twin's COMMIT was lost: written itself, the copy learns
// whether it landed).
std::optional<absl::StatusOr<v1::Application>> TwinOutcome(
    int64_t campaign_id, const std::string& user_id, const absl::StatusOr<v1::Application>& twin);

}  // namespace campaignq::store
