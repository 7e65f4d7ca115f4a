#pragma once
// The claim-and-decide protocol: the heart of campaignq. Its statements are
// sql/queries/queue.sql, in the order they run; this header is its contract.
//
// One batch is one READ COMMITTED transaction on one connection:
//   0. DecideNotified, for the campaigns NOTIFY campaignq_pending woke the
//      worker for (it calls it when it has no backlog): those that are open
//      and uncapped are decided as in 1a, one after another in id order in
//      this one transaction (one COMMIT for the Applies of several
//      campaigns), without reading the candidates (their scan, and the
//      second claim that found nothing, were most of PostgreSQL's CPU per
//      decision at 500 Applies/s: docs/performance-w3.md). Each campaign's
//      counter is locked as in 1a, in id order, so two such batches never
//      wait for each other in a cycle. For those it decided nothing of, the
//      same transaction reads whether any is capped or closed (only steps
//      1-3, under the campaign lock, decide those):
//      BatchResult::notified_only is false then, and the worker claims
//      again with DecideByWindow. Otherwise the batch ends here: what it
//      skipped is held by the workers deciding it, or paused.
//   1. Find the fairest campaigns with pending work (oldest pending
//      application first, among the owners of the 1,024 oldest from the
//      worker's low-water mark on: claim_window.h), unlocked; paused and
//      backing-off ones left out.
//      a. The fairest is uncapped and open (skip-locked mode): no campaign
//         lock at all. Of it and the uncapped candidates right after it, the
//         first with a pending row no other worker holds is decided: lock up
//         to batch_size of its oldest pending applications FOR UPDATE SKIP
//         LOCKED, approve them, and add them to approved_count last, so that
//         any number of workers decide one uncapped campaign in parallel and
//         queue only for their commits. Nothing to protect is lost: there is
//         no cap, all are approved (so no FCFS order to keep), and each
//         UPDATE is guarded by status = 'pending'. A batch that approved rows
//         of a campaign found closed once its row lock was granted rolls back
//         (40001; the retry rejects them). It waits for the campaign row
//         while holding application rows, against the lock order below,
//         under a 200 ms lock_timeout: a CancelApplication or CloseCampaign
//         holding the campaign and waiting for one of those rows makes this
//         batch roll back (55P03) long before the deadlock detector could
//         pick the canceller. When all their rows are held by other workers,
//         the batch is retried at once, in a new transaction, with them left
//         out. No skip-locked claim takes an open uncapped campaign's lock
//         (it would close a cycle with this wait); the rare isolated retry
//         after a deterministic error does, and the timeout ends the cycle.
//      b. Otherwise lock campaign rows FOR NO KEY UPDATE (Applies, which
//         only take a KEY SHARE lock through the foreign key, go on):
//        DecideByWindow (kSkipLocked): up to max_campaigns of the capped
//          candidates, in campaign id order, skipping those other workers
//          hold (never waiting); when the window has no candidate this
//          worker may take, the fairest free capped (or closed) campaign
//          anywhere (one). When the candidates are all held, nothing: they
//          are being worked on.
//        DecideFairestNowait (kNowait): the fairest candidate is locked
//          with NOWAIT: refused at once if held (55P03, returned as
//          BatchResult::lock_refused), and the caller backs off it.
//        DecideFairestBlocking (kBlocking): the fairest candidate is waited
//          for (for comparison).
//        DecideCampaign, DecideIsolatedHead: the one campaign named, waited
//          for (the worker's retry after a deterministic error).
//   2. In a new statement (a fresh snapshot that sees every decision
//      committed before the campaign locks were granted), lock the
//      campaigns' oldest pending applications FOR UPDATE, campaign by
//      campaign in id order and each in id order, up to batch_size in
//      total, and decide them: approved while seats remain, then waitlisted
//      (or rejected campaign_full), everything rejected campaign_closed once
//      closed. Every UPDATE is guarded by status = 'pending'.
//   3. COMMIT; then one NOTIFY campaignq_decided per campaign decided, in a
//      transaction of its own (inside the batch, NOTIFY's global commit lock
//      serialised every worker's commit).
// The expiry of due holds (ExpireDueHolds) is a batch of its own, the
// product's second job queue: QueueClaimDueHolds locks the campaigns owning
// the earliest due holds (SKIP LOCKED, id order), ApplicationExpireDueHolds
// expires them in a new statement, ApplicationFillFreeSeats gives each
// campaign's seats to the next in line, QueueNextHoldExpiry says when to
// come back; COMMIT; NOTIFY campaignq_decided as in 3.
// Lock order, everywhere in campaignq: campaign rows (several only here, in
// id order, SKIP LOCKED), then their application rows in id order; the one
// exception is 1a (and 0, which decides as 1a does), above. The campaign
// lock is the lease: a worker that dies or freezes loses it when
// PostgreSQL ends its session (see
// db::ConnectOptions::idle_in_transaction_timeout_ms) and rolls back.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/db/connect.h"
#include "common/queue/claim_window.h"

namespace campaignq::queue {

enum class LockMode {
  kSkipLocked,  // campaigns held by other workers are skipped (default)
  kNowait,      // fail fast with 55P03; the caller backs off that campaign
  kBlocking,    // wait in line for the campaign lock; kept to compare
};

// Parses "skip-locked", "nowait" or "blocking"; INVALID_ARGUMENT otherwise.
absl::StatusOr<LockMode> ParseLockMode(const std::string& text);
const char* LockModeName(LockMode mode);

struct Decision {
  int64_t application_id;
  std::string status;     // approved, waitlisted or rejected
  int64_t waited_micros;  // from its Apply to this decision
  int64_t campaign_id;
};

// What DecideByWindow claims: steps 1-3 in skip-locked mode.
struct WindowClaim {
  // Applications decided at most, over all campaigns of the batch.
  int batch_size = 100;
  // Capped campaigns locked at most in one batch (>= 1). More than one pays
  // off when campaigns have fewer pending applications than batch_size; the
  // worker adapts it (worker/claim_policy.h).
  int max_campaigns = 1;
  // Campaigns to leave out (backing off); never claimed by this call.
  std::vector<int64_t> excluded_campaigns;
  // Campaigns to add to the candidates whatever the window holds: those a
  // NOTIFY named that step 0 found capped or closed (BatchResult::needs_lock),
  // whose new rows may be below the window's low-water mark (claim_window.h).
  std::vector<int64_t> hinted_campaigns;
};

// One hold ExpireDueHolds ended.
struct Expiry {
  int64_t application_id;
  int64_t campaign_id;
  int64_t late_micros;  // from its hold_expires_at to the expiry, by the database's clock
};

struct BatchResult {
  // OK, or why the transaction rolled back (db::StatusFromException;
  // db::IsTransient tells whether to retry as is).
  absl::Status status;
  // The campaign claimed (the first, in id order, when several were), or
  // whose lock was refused (nowait); 0 when no campaign had pending work
  // that this worker may take.
  int64_t campaign_id = 0;
  // Every campaign claimed, in id order (campaign_id is the first).
  std::vector<int64_t> campaign_ids;
  // Decided by step 1a (or 0): an uncapped campaign, without its lock.
  bool uncapped = false;
  // Step 0 ran and none of the notified campaigns needs steps 1-3. Every
  // Apply a NOTIFY was sent for committed before this batch's snapshot, so a
  // batch shorter than batch_size left nothing of those campaigns that this
  // worker could take: it need not claim again before its next wake-up.
  bool notified_only = false;
  // Step 0: the notified campaigns that are capped or closed (not paused),
  // which only steps 1-3 decide: the worker names them in the next
  // WindowClaim::hinted_campaigns.
  std::vector<int64_t> needs_lock;
  // DecideFairestNowait: another worker held campaign_id, so NOWAIT refused
  // its lock (SQLSTATE 55P03) and the batch rolled back with nothing
  // decided. status stays OK: a refusal is this mode's answer, not a
  // failure; the caller backs the campaign off.
  bool lock_refused = false;
  // Step 1 succeeded: the campaign was locked (or, uncapped, chosen), so a
  // failure is about deciding its applications (a statement_timeout on a
  // big batch; with uncapped, 55P03 is the counter's lock_timeout instead),
  // not about the lock (NOWAIT refused, lock_timeout while waiting for it).
  bool campaign_locked = false;
  // DecideIsolatedHead: the application this batch tried to decide (0 when
  // the campaign had none pending). Set whether or not the batch succeeded.
  int64_t isolated_application = 0;
  // By campaign, each in id order; empty if the pending rows were already
  // gone.
  std::vector<Decision> decisions;
  // ExpireDueHolds: the holds it expired (by campaign, each in id order),
  // the applications their seats went to, and the time from the batch's
  // end to the earliest hold still outstanding (<= 0: due, its campaign
  // held by another transaction; nullopt: no hold at all).
  std::vector<Expiry> expired;
  std::vector<int64_t> seats_passed_on;
  std::optional<int64_t> next_expiry_micros;
  // BEGIN to COMMIT (or to the error).
  double transaction_seconds = 0;
};

// The protocol over one connection. Not thread-safe (a connection is not);
// `connection` must outlive this object. Never throws.
class ClaimProtocol {
 public:
  // `window`: the low-water mark of the candidate scan (claim_window.h),
  // shared by a worker's threads so that it is rebased once per process
  // and period; null for one of this protocol's own. It must outlive this
  // object.
  explicit ClaimProtocol(db::Connection* connection, ClaimWindow* window = nullptr)
      : connection_(*connection), window_(window != nullptr ? window : &own_window_) {}

  // The entry points: each runs one batch, one way, and returns what it
  // did. A connection that broke is left for the caller to replace (status
  // UNAVAILABLE, or UNKNOWN when COMMIT's outcome was lost: the status
  // guards make a retry safe either way). Which one to call when is the
  // worker's policy (worker/claim_policy.h).

  // Step 0 for the campaigns a NOTIFY campaignq_pending named, whose
  // Applies committed before it was sent (skip-locked mode only: the other
  // modes exist to compare the lock, which step 0 does not take).
  BatchResult DecideNotified(std::vector<int64_t> campaigns, int batch_size);
  // Steps 1-3, skip-locked: the fairest campaigns of the window that no
  // other worker holds.
  BatchResult DecideByWindow(const WindowClaim& claim);
  // Steps 1-3, nowait: the fairest campaign not in `excluded`, locked with
  // NOWAIT; held by another worker, nothing is decided and the result says
  // lock_refused.
  BatchResult DecideFairestNowait(int batch_size, const std::vector<int64_t>& excluded);
  // Steps 1-3, blocking: the fairest campaign not in `excluded`, waiting in
  // line for its lock (kept to compare).
  BatchResult DecideFairestBlocking(int batch_size, const std::vector<int64_t>& excluded);
  // Steps 1b-3 for `campaign_id` alone, waiting for its lock, whatever the
  // lock mode and whether or not it is capped.
  BatchResult DecideCampaign(int64_t campaign_id, int batch_size);
  // As DecideCampaign, but decides only the campaign's oldest pending
  // application, read first in the same transaction, so that a failure is
  // known to be about that one application (BatchResult::isolated_application).
  BatchResult DecideIsolatedHead(int64_t campaign_id);

  // The expiry queue (docs/holds.md): up to `batch_size` due holds, of the
  // campaigns with due holds that no other transaction holds (locked in id
  // order, SKIP LOCKED, then their held rows: the one lock order), expired,
  // and each campaign's seats given back to the next in line by the one
  // fill rule (ApplicationFillFreeSeats), in one transaction; then one
  // NOTIFY campaignq_decided per campaign, as after a batch. Whatever the
  // outcome it reads when the next hold expires (BatchResult::
  // next_expiry_micros), so that the worker sleeps until then.
  BatchResult ExpireDueHolds(int batch_size);

  // Drops the connection's cached plans (SessionDiscardPlans), so that the
  // statements are planned for the tables as they are now; the worker calls
  // it every few seconds. A no-op through a pooler, where statements are
  // sent as text and never cached. Never throws; a failure shows in the
  // next batch.
  void DiscardCachedPlans();

  // After a deterministic error deciding exactly `application_id` (an
  // isolated batch): under the campaign lock, counts one attempt against it
  // and keeps `error`; at `max_attempts` it becomes failed (out of the queue,
  // the cap and FCFS). Guarded: an application that is no longer pending
  // (cancelled, decided, failed meanwhile) is left alone. Returns its status
  // afterwards ("pending" or "failed"), or "" when it was not pending.
  absl::StatusOr<std::string> RecordFailure(int64_t campaign_id, int64_t application_id,
                                            const std::string& error, int max_attempts);

 private:
  db::Connection& connection_;
  ClaimWindow own_window_;
  ClaimWindow* window_;
};

}  // namespace campaignq::queue
