#pragma once
// One claim-and-decide transaction: the heart of the queue. See
// sql/queries/queue.sql for the statements and the README for the protocol.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/connection_base>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace campaignq::worker {

enum class LockMode {
  kSkipLocked,  // campaigns held by other workers are skipped (default)
  kNowait,      // fail fast with 55P03; the caller backs off that campaign
  kBlocking,    // wait in line for the campaign lock; kept to compare
};

// Parses "skip-locked", "nowait" or "blocking".
absl::StatusOr<LockMode> ParseLockMode(const std::string& text);
const char* LockModeName(LockMode mode);

struct Decision {
  int64_t application_id;
  std::string status;     // approved, waitlisted or rejected
  int64_t waited_micros;  // from its Apply to this decision
};

struct BatchResult {
  // OK, or why the transaction rolled back (see db::StatusFromException;
  // db::IsTransient tells whether to retry).
  absl::Status status;
  // The campaign claimed, or whose lock was refused (nowait); 0 when no
  // campaign had pending work that this worker may take.
  int64_t campaign_id = 0;
  // In id order; empty if the campaign's pending rows were already gone.
  std::vector<Decision> decisions;
  // BEGIN to COMMIT (or to the error).
  double transaction_seconds = 0;
};

struct BatchRequest {
  LockMode lock_mode = LockMode::kSkipLocked;
  int batch_size = 100;
  // Campaigns to leave out (backing off); never claimed by this call.
  std::vector<int64_t> excluded_campaigns;
  // When set, claim this campaign only (waiting for its lock) instead of
  // the fairest one: used to retry a failed campaign with batch_size 1.
  std::optional<int64_t> only_campaign;
};

// Runs one READ COMMITTED transaction on `connection`: lock a campaign with
// pending work (the one whose oldest pending application is oldest),
// then, in a new statement, lock and decide up to batch_size of its oldest
// pending applications in id order, NOTIFY watchers once, and commit.
// Never throws. A connection that broke is left for the caller to replace.
BatchResult DecideOneBatch(pqxx::connection_base& connection, const BatchRequest& request);

// After a deterministic (non-transient) error deciding `campaign_id` one
// application at a time: counts an attempt against its oldest pending
// application and records `error`; at max_attempts it becomes failed.
// Returns the application's status afterwards ("pending" or "failed"), or
// "" when the campaign had no pending application.
absl::StatusOr<std::string> RecordHeadFailure(pqxx::connection_base& connection,
                                              int64_t campaign_id, const std::string& error,
                                              int max_attempts);

}  // namespace campaignq::worker
