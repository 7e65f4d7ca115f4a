#pragma once
// The domain operations of campaignq over PostgreSQL: everything the gRPC
// service does, without gRPC. Each operation validates its input first
// (INVALID_ARGUMENT, nothing touched) and then runs as one short READ
// COMMITTED transaction on a pooled connection. Besides the codes each method
// names below, any of them returns what db::StatusFromException
// (common/db/pg_status.h) makes of a database error:
//   UNAVAILABLE  database unreachable, or every pooled connection busy; a
//                transaction that lost its connection before COMMIT has
//                already been run once more on a fresh connection
//   ABORTED      transient conflict (serialization failure, deadlock, lock
//                not available, statement cancelled): safe to retry
//   UNKNOWN      the connection broke during COMMIT: the outcome is unknown,
//                so it is never retried here; read back before retrying
//   INTERNAL     anything else
//
// Deadlines: every operation takes the caller's deadline (last parameter,
// absl::InfiniteFuture() = none, the default). The transaction's statements
// get the time left as their statement_timeout (db::InTransaction), so SQL
// still running when the deadline passes is cancelled by PostgreSQL and the
// operation returns DEADLINE_EXCEEDED (rolled back); a deadline already
// passed returns DEADLINE_EXCEEDED without touching the database. The
// server passes each call's capped deadline (server/call_deadline.h).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "campaignq/v1/campaignq.pb.h"
#include "common/db/pool.h"
#include "common/store/apply_batcher.h"
#include "common/store/place_in_line.h"

namespace campaignq::store {

// Notification channels (the SQL uses the same names).
inline constexpr char kPendingChannel[] = "campaignq_pending";  // payload: campaign id
inline constexpr char kDecidedChannel[] = "campaignq_decided";  // payload: campaign id

// The NOT_FOUND the store answers for a missing application (ErrorInfo
// reason APPLICATION_NOT_FOUND). The service answers the same for another
// user's application, so that the two cannot be told apart.
absl::Status ApplicationNotFound(int64_t application_id);

// Which page of GetQueueStats' campaigns (at namespace scope: a nested
// struct with default member initializers cannot be a default argument).
struct StatsPage {
  int32_t page_size = 0;
  std::string page_token;
};

class CampaignStore {
 public:
  // `pool` must outlive the store; `apply` shapes its Apply group commit.
  explicit CampaignStore(db::ConnectionPool* pool, ApplyBatcher::Options apply = {});

  absl::StatusOr<v1::Campaign> CreateCampaign(const v1::CreateCampaignRequest& request,
                                              absl::Time deadline = absl::InfiniteFuture());
  // NOT_FOUND for an unknown id.
  absl::StatusOr<v1::Campaign> GetCampaign(int64_t campaign_id,
                                           absl::Time deadline = absl::InfiniteFuture());
  absl::StatusOr<v1::ListCampaignsResponse> ListCampaigns(
      const v1::ListCampaignsRequest& request, absl::Time deadline = absl::InfiniteFuture());
  // Closes the campaign and, in the same transaction, rejects its pending
  // and waitlisted applications (reason campaign_closed). Idempotent.
  absl::StatusOr<v1::Campaign> CloseCampaign(int64_t campaign_id,
                                             absl::Time deadline = absl::InfiniteFuture());
  // Workers claim nothing of a paused campaign (they re-check under the
  // campaign lock); Applies still queue in order. Resume wakes the workers.
  // Both idempotent; FAILED_PRECONDITION on a closed campaign.
  absl::StatusOr<v1::Campaign> PauseCampaign(int64_t campaign_id,
                                             absl::Time deadline = absl::InfiniteFuture());
  absl::StatusOr<v1::Campaign> ResumeCampaign(int64_t campaign_id,
                                              absl::Time deadline = absl::InfiniteFuture());
  // Deletes a closed campaign and its applications (in batches of short
  // transactions, then the campaign row under its lock); returns how many
  // applications went. FAILED_PRECONDITION while open.
  absl::StatusOr<int64_t> DeleteCampaign(int64_t campaign_id,
                                         absl::Time deadline = absl::InfiniteFuture());

  // Stores a pending application once it is durable. NOT_FOUND (unknown
  // campaign), FAILED_PRECONDITION (closed), ALREADY_EXISTS (the message
  // names the existing application's id and status, and carries them as
  // ErrorInfo reason ALREADY_APPLIED with metadata application_id, status,
  // campaign_id: common/status_details.h). Concurrent Applies are committed
  // together (ApplyBatcher); each still gets its own outcome. The deadline
  // also bounds the wait for a batch to take this Apply.
  absl::StatusOr<v1::Application> Apply(const v1::ApplyRequest& request,
                                        absl::Time deadline = absl::InfiniteFuture());
  // Apply without waiting: `done` gets the same outcome, exactly once, on
  // another thread (ApplyBatcher::ApplyAsync) or, for an invalid request, a
  // deadline already passed or a full share of the queue, on this one
  // before it returns. `done` must not block. `caller` keys the caller's
  // share of the Apply queue (ApplyBatcher::ApplyAsync).
  void ApplyAsync(int64_t campaign_id, std::string user_id, absl::Time deadline,
                  ApplyBatcher::Done done, std::string caller);
  absl::StatusOr<v1::Application> GetApplication(int64_t application_id,
                                                 absl::Time deadline = absl::InfiniteFuture());
  // GetApplication with the application's place in line and its
  // campaign's progress counters, in one statement (place_in_line.h).
  absl::StatusOr<ApplicationInLine> GetApplicationInLine(
      int64_t application_id, absl::Time deadline = absl::InfiniteFuture());
  absl::StatusOr<v1::ListApplicationsResponse> ListApplications(
      const v1::ListApplicationsRequest& request, absl::Time deadline = absl::InfiniteFuture());
  // Pending/waitlisted/approved/held -> cancelled; an approved or held one's
  // seat goes to the oldest waitlisted application in the same transaction
  // (as a hold where the campaign has a hold duration). Cancelled:
  // returned unchanged. Rejected or failed: FAILED_PRECONDITION.
  absl::StatusOr<v1::Application> CancelApplication(int64_t application_id,
                                                    absl::Time deadline = absl::InfiniteFuture());

  // Holds (docs/holds.md). Confirm: held -> approved, only before its
  // hold_expires_at (after it FAILED_PRECONDITION, whether or not a worker
  // has expired it yet). Release: held -> released, and its seat goes to
  // the next in line in the same transaction. Approved (confirm) or
  // released (release) already: returned unchanged. Both wait at most
  // 500 ms for the campaign lock (a worker's batch holds it while it
  // decides), then ABORTED with a retry delay.
  absl::StatusOr<v1::Application> ConfirmApplication(int64_t application_id,
                                                     absl::Time deadline = absl::InfiniteFuture());
  absl::StatusOr<v1::Application> ReleaseApplication(int64_t application_id,
                                                     absl::Time deadline = absl::InfiniteFuture());

  // The dead-letter queue: a failed application back to pending, attempts
  // reset, keeping its id (its place in first-come-first-served order).
  // FAILED_PRECONDITION unless it is failed and its campaign open.
  absl::StatusOr<v1::Application> RetryApplication(int64_t application_id,
                                                   absl::Time deadline = absl::InfiniteFuture());
  // The same for every failed application of the campaign, in one
  // transaction; returns how many. FAILED_PRECONDITION when closed.
  absl::StatusOr<int64_t> RetryFailedApplications(int64_t campaign_id,
                                                  absl::Time deadline = absl::InfiniteFuture());

  // Totals over every campaign and one page of the campaigns that are open
  // or have pending work (page_size 0: 100, at most 1000; page_token from
  // the previous page's next_page_token). Reads counters and partial
  // indexes, never the decided history (sql/queries/queue.sql, QueueTotals).
  // INVALID_ARGUMENT for a threshold <= 0, a page size out of range or a
  // malformed token.
  absl::StatusOr<v1::QueueStats> GetQueueStats(std::chrono::microseconds stall_threshold,
                                               const StatsPage& page = StatsPage(),
                                               absl::Time deadline = absl::InfiniteFuture());

  // One tick of the maintenance every deployment needs done by exactly one
  // process at a time: close the campaigns whose closes_at has passed (as
  // CloseCampaign), wake idle workers for each pre-queue whose opens_at has
  // passed (once per campaign), and delete the applications of campaigns closed longer
  // than `retain_decided` (zero: keep forever), one small batch per tick.
  // Leadership is a transaction-scoped advisory lock, so it works through
  // a transaction pooler and moves on by itself when a leader dies; a
  // process that does not get it does nothing this tick.
  struct MaintenanceReport {
    bool leader = false;
    int closed_campaigns = 0;
    int64_t purged_applications = 0;
    // Pre-queues whose opening this tick announced to idle workers.
    int announced_openings = 0;
    // Until the next scheduled close, when one is scheduled.
    std::optional<std::chrono::microseconds> next_close_in;
    // Until the next pre-queue opens (migration 0009), when one waits.
    std::optional<std::chrono::microseconds> next_opening_in;
  };
  absl::StatusOr<MaintenanceReport> RunMaintenanceTick(std::chrono::microseconds retain_decided);

  struct QueueDepth {
    int64_t pending = 0;
    double oldest_pending_age_seconds = 0;
  };
  // Counts the pending partial index: as slow as the backlog is large, and
  // it waits behind a lock on the table. Bounded by `deadline`
  // (DEADLINE_EXCEEDED); never on the health connection
  // (server_stack.cc).
  absl::StatusOr<QueueDepth> GetQueueDepth(absl::Time deadline);

  // A round trip to the database: OK or UNAVAILABLE. For health checks.
  absl::Status Ping();

 private:
  absl::StatusOr<v1::Campaign> SetPaused(int64_t campaign_id, bool paused, absl::Time deadline);

  db::ConnectionPool* pool_;
  ApplyBatcher apply_batcher_;
};

}  // namespace campaignq::store
