#pragma once
// The claim-and-decide protocol: the heart of campaignq. Its statements are
// sql/queries/queue.sql, in the order they run; this header is its contract.
//
// One batch is one READ COMMITTED transaction on one connection:
//   1. Lock one campaign row with pending work, FOR NO KEY UPDATE (Applies,
//      which only take a KEY SHARE lock through the foreign key, go on):
//        kSkipLocked  campaigns other workers hold are skipped, never waited
//                     for; the fairest free one (oldest head) is taken.
//        kNowait      the fairest candidate is locked with NOWAIT: SQLSTATE
//                     55P03 at once if held, and the caller backs off it.
//        kBlocking    the fairest candidate is waited for (for comparison).
//   2. In a new statement (a fresh snapshot that sees every decision
//      committed before the campaign lock was granted), lock the campaign's
//      oldest pending applications FOR UPDATE in id order and decide them:
//      approved while seats remain, then waitlisted (or rejected
//      campaign_full), everything rejected campaign_closed once closed.
//      Every UPDATE is guarded by status = 'pending'.
//   3. One NOTIFY campaignq_decided per batch, then COMMIT.
// Lock order, everywhere in campaignq: the campaign row, then its
// application rows in id order. The campaign lock is the lease: a worker
// that dies or freezes loses it when PostgreSQL ends its session (see
// db::ConnectOptions::idle_in_transaction_timeout_ms) and rolls back.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/db/connect.h"

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
};

struct BatchRequest {
  LockMode lock_mode = LockMode::kSkipLocked;
  int batch_size = 100;
  // Campaigns to leave out (backing off); never claimed by this call.
  std::vector<int64_t> excluded_campaigns;
  // When set, claim this campaign only (waiting for its lock) instead of
  // the fairest one.
  std::optional<int64_t> only_campaign;
  // With only_campaign: decide just the campaign's oldest pending
  // application, read first in the same transaction, so that a failure is
  // known to be about that one application (BatchResult::isolated_application).
  bool isolate_head = false;
};

struct BatchResult {
  // OK, or why the transaction rolled back (db::StatusFromException;
  // db::IsTransient tells whether to retry as is).
  absl::Status status;
  // The campaign claimed, or whose lock was refused (nowait); 0 when no
  // campaign had pending work that this worker may take.
  int64_t campaign_id = 0;
  // Step 1 succeeded: the campaign was locked, so a failure is about
  // deciding its applications (a statement_timeout on a big batch), not
  // about the lock (NOWAIT refused, lock_timeout while waiting for it).
  bool campaign_locked = false;
  // With isolate_head: the application this batch tried to decide (0 when
  // the campaign had none pending). Set whether or not the batch succeeded.
  int64_t isolated_application = 0;
  // In id order; empty if the campaign's pending rows were already gone.
  std::vector<Decision> decisions;
  // BEGIN to COMMIT (or to the error).
  double transaction_seconds = 0;
};

// The protocol over one connection. Not thread-safe (a connection is not);
// `connection` must outlive this object. Never throws.
class ClaimProtocol {
 public:
  explicit ClaimProtocol(db::Connection* connection) : connection_(*connection) {}

  // Runs steps 1-3 above once. A connection that broke is left for the
  // caller to replace (status UNAVAILABLE, or UNKNOWN when COMMIT's outcome
  // was lost: the status guards make a retry safe either way).
  BatchResult DecideBatch(const BatchRequest& request);

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
};

}  // namespace campaignq::queue
