#pragma once
// What a worker thread claims next, decided apart from the database: given
// what its last batch returned (queue::BatchResult), the wake-ups it was
// handed and the campaigns backing off, which entry point of
// queue::ClaimProtocol to call, or whether to sleep, pause or reconnect.
// WorkerPool::RunThread is the loop around it: ask, do the I/O, tell.
// No clock is read here (every call is given `now`) and the jitter is
// injected, so that tests/worker/claim_policy_test.cc drives every
// transition without PostgreSQL.
//
// The turns, in short (Observe says which follows a batch):
//   * A wake-up named campaigns (skip-locked mode): DecideNotified for those
//     not backing off. A short batch that left none of them to the usual
//     claim (BatchResult::notified_only) sleeps until the next wake-up;
//     one that found some capped or closed claims with DecideByWindow at
//     once, naming them (WindowClaim::hinted_campaigns).
//   * Otherwise the mode's claim: DecideByWindow (skip-locked), or
//     DecideFairestNowait / DecideFairestBlocking. A full batch claims again
//     at once and wakes one more idle thread; a short one claims again
//     (other campaigns may have work) until a claim finds nothing, then
//     sleeps: until a wake-up, the poll interval, or the end of the first
//     campaign's back-off, whichever comes first.
//   * A transient error on a campaign backs it off (CampaignCooldowns); one
//     no campaign can be blamed for pauses the thread, jittered and
//     doubling. A batch that timed out deciding halves the batch size,
//     which doubles back after a run of successes.
//   * A deterministic error: over several campaigns, one campaign per batch
//     until it recurs; on one campaign, DecideIsolatedHead for it, one
//     application at a time, until the head that fails is charged
//     (ClaimProtocol::RecordFailure). An isolated retry that fails
//     transiently backs the campaign off like any other; its head is
//     isolated again when the back-off ends.
//   * A lost connection or an unknown COMMIT outcome: reconnect, after a
//     jittered delay doubling up to reconnect_backoff.max while connecting
//     fails.
//   * The expiry queue (expire_holds, one thread per process): ExpireDueHolds
//     before any other claim once the earliest hold it knows of is due, and
//     at least every hold_probe, since holds made elsewhere (other workers,
//     a cancel's or a release's fill) are known only by probing. A sleep
//     ends by then too. A full expiry batch expires again at once; due holds
//     it could not lock (another transaction holds their campaign) are
//     retried after held_retry, not in a loop.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "common/backoff.h"
#include "common/queue/claim.h"

namespace campaignq::worker {

struct ClaimPolicyOptions {
  queue::LockMode lock_mode = queue::LockMode::kSkipLocked;
  int batch_size = 100;              // WorkerOptions::batch_size
  int max_campaigns_per_batch = 64;  // WorkerOptions::max_campaigns_per_batch
  // The longest sleep without a wake-up (WorkerOptions::poll_interval, or
  // shorter through a pooler, where no NOTIFY arrives).
  std::chrono::milliseconds idle_wait{2000};
  // WorkerOptions::decide_window is set: a wake-up may take up to
  // max_campaigns_per_batch campaigns. Without one, a batch over several
  // would hold each one's counter until its COMMIT, and the other worker
  // processes, woken for the same campaigns, would queue behind it: one.
  bool decide_window = false;
  BackoffPolicy campaign_backoff;   // transient errors per campaign, and unblamed ones
  BackoffPolicy reconnect_backoff;  // failed connects
  // How often the connection's cached plans are dropped
  // (ClaimProtocol::DiscardCachedPlans): short enough that a table growing
  // from empty gets plans for its size before a backlog builds (a soak fell
  // behind within 20-40 s), long enough that re-planning costs nothing
  // measurable.
  std::chrono::milliseconds plan_refresh{std::chrono::seconds(5)};
  // This thread expires due holds (ClaimProtocol::ExpireDueHolds).
  bool expire_holds = false;
  // The longest time between two expiry batches. A hold made where this
  // thread cannot see it (another process) is found by the next probe, at
  // most hold_probe after it was made, so it expires at most hold_probe
  // late whatever its duration (issue 21: within 1 s).
  std::chrono::milliseconds hold_probe{500};
  // Due holds whose campaign another transaction held: tried again after
  // this (that transaction is a short batch, or an expiry of them).
  std::chrono::milliseconds held_retry{100};
};

// The next batch: which entry point, with what.
struct Claim {
  enum class Kind {
    kIsolatedHead,     // ClaimProtocol::DecideIsolatedHead(campaign_id)
    kNotified,         // ClaimProtocol::DecideNotified(notified, window.batch_size)
    kByWindow,         // ClaimProtocol::DecideByWindow(window)
    kFairestNowait,    // ClaimProtocol::DecideFairestNowait(window.batch_size,
                       // window.excluded_campaigns)
    kFairestBlocking,  // ClaimProtocol::DecideFairestBlocking(the same)
    kExpireHolds,      // ClaimProtocol::ExpireDueHolds(window.batch_size)
  };
  Kind kind = Kind::kByWindow;
  int64_t campaign_id = 0;        // kIsolatedHead
  std::vector<int64_t> notified;  // kNotified
  // batch_size for every kind (1 for kIsolatedHead); excluded_campaigns for
  // kByWindow and the kFairest ones; max_campaigns and hinted_campaigns for
  // kByWindow.
  queue::WindowClaim window;
};

// What a batch's result was, for the loop's metrics and logs.
enum class BatchOutcome {
  kDecided,         // OK, a campaign claimed (WorkerMetrics::RecordBatch)
  kExpired,         // OK, holds expired (WorkerMetrics::RecordExpiries)
  kNothing,         // OK, nothing this worker may take
  kLockRefused,     // NOWAIT refused: the campaign backs off (a retry, 55P03)
  kCommitUnknown,   // the COMMIT's outcome was lost
  kConnectionLost,  // the session is gone (a retry)
  kNotCharged,      // transient, or the database's fault: nobody charged (a retry)
  kCharged,         // deterministic: about an application
};

// What the loop does after a batch.
struct Reaction {
  enum class Next {
    kClaim,          // NextClaim() again at once
    kSleep,          // WakeSignal::Wait(wait, campaigns_per_wake, ...), then Woken()
    kPause,          // sleep `pause`, then claim
    kReconnect,      // drop the connection, connect again
    kRecordFailure,  // ClaimProtocol::RecordFailure(campaign_id, application_id), then
                     // FailureRecorded()
  };
  BatchOutcome outcome = BatchOutcome::kNothing;
  Next next = Next::kClaim;
  bool wake_another = false;  // a full batch: a backlog, bring one more idle thread in
  std::chrono::milliseconds wait{0};
  size_t campaigns_per_wake = 1;
  std::chrono::milliseconds pause{0};
  int shrunk_batch_size = 0;   // > 0: the batch timed out; now at most this many
  int64_t campaign_id = 0;     // kRecordFailure
  int64_t application_id = 0;  // kRecordFailure
};

// One per worker thread; not thread-safe.
class ClaimPolicy {
 public:
  // The jittered wait before retry `attempt` (0 = the first) under a
  // backoff policy; JitteredDelay by default.
  using Jitter = std::function<std::chrono::milliseconds(const BackoffPolicy&, int attempt)>;

  explicit ClaimPolicy(ClaimPolicyOptions options, Jitter jitter = nullptr);

  // Connecting failed: how long to wait before the next attempt (doubling
  // per consecutive failure, up to reconnect_backoff.max).
  std::chrono::milliseconds ConnectFailed();
  // A new connection: everything learnt on the last one is forgotten but
  // the campaigns backing off (the old connection's locks died with it).
  void Connected(Clock::time_point now);
  // Whether to drop the cached plans now (each plan_refresh).
  bool PlansDue(Clock::time_point now);

  // The batch to run now.
  Claim NextClaim(Clock::time_point now);
  // What `claim` returned, and what to do next. `connection_open`: the
  // connection still works after it (a broken one is replaced whatever
  // the status says).
  Reaction Observe(const Claim& claim, const queue::BatchResult& result, bool connection_open,
                   Clock::time_point now);
  // After Reaction::Next::kSleep: the campaigns the wake-up named (none: a
  // timeout, or a wake-up for any campaign).
  void Woken(std::vector<int64_t> campaigns);
  // After Reaction::Next::kRecordFailure: whether it was recorded. If not,
  // the campaign backs off and is claimed the usual way afterwards.
  void FailureRecorded(bool recorded, Clock::time_point now);

  // For tests and logs.
  int batch_size() const { return batch_size_; }
  int campaigns_per_batch() const { return campaigns_per_batch_; }
  std::optional<int64_t> suspect() const { return suspect_; }
  std::vector<int64_t> BackingOff(Clock::time_point now) { return cooldowns_.Active(now); }

 private:
  // After a full batch: the campaigns the claim named (notified or hinted)
  // that it decided are named again in the next one. Their rest may lie
  // below the window's low-water mark (a pre-queue at its opening, whose
  // rows the mark passed while it was not open: claim_window.h), where no
  // window claim finds them before the next rebase.
  void CarryNamed(const Claim& claim, const queue::BatchResult& result);
  // Sleeping now: how long, and for how many campaigns.
  Reaction Sleep(Reaction reaction, Clock::time_point now) const;
  // Observe for kExpireHolds.
  Reaction ObserveExpiry(const Claim& claim, const queue::BatchResult& result, bool connection_open,
                         Clock::time_point now);

  const ClaimPolicyOptions options_;
  Jitter jitter_;
  // Survives reconnects: a campaign that failed keeps backing off.
  CampaignCooldowns cooldowns_;
  int connect_failures_ = 0;

  // Per connection (Connected() resets them).
  Clock::time_point plans_refreshed_{};
  // A campaign whose batch failed deterministically is retried one
  // application at a time (its head, isolated), so that a failure is
  // charged to exactly the application that caused it.
  std::optional<int64_t> suspect_;
  // Shrinks when batches time out (a role's statement_timeout or
  // lock_timeout shorter than a full batch takes) and grows back after a
  // run of successes, so that such a batch is not retried forever.
  int batch_size_ = 0;
  int successes_since_shrink_ = 0;
  // Capped campaigns to lock per batch: starts at 1 and adapts
  // (WorkerOptions::max_campaigns_per_batch).
  int campaigns_per_batch_ = 1;
  // Consecutive transient failures that no campaign can be blamed for (the
  // claim statement itself failed): paused here, not hot-looped.
  int unattributed_failures_ = 0;
  // The campaigns the last wake-up named: the next batch decides them.
  std::vector<int64_t> notified_;
  // Those of them that only the usual claim decides (capped or closed):
  // candidates of the next window claim.
  std::vector<int64_t> hinted_;
  // expire_holds: when the next expiry batch is due (at once on a new
  // connection), and its consecutive failures (backing off).
  Clock::time_point expiry_due_{};
  int expiry_failures_ = 0;
};

}  // namespace campaignq::worker
