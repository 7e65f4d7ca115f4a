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

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "campaignq/v1/campaignq.pb.h"
#include "common/db/pool.h"
#include "common/store/apply_batcher.h"

namespace campaignq::store {

// Notification channels (the SQL uses the same names).
inline constexpr char kPendingChannel[] = "campaignq_pending";  // payload: campaign id
inline constexpr char kDecidedChannel[] = "campaignq_decided";  // payload: campaign id

class CampaignStore {
 public:
  // `pool` must outlive the store.
  explicit CampaignStore(db::ConnectionPool* pool);

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

  // Stores a pending application once it is durable. NOT_FOUND (unknown
  // campaign), FAILED_PRECONDITION (closed), ALREADY_EXISTS (the message
  // names the existing application's id and status, and carries them as
  // ErrorInfo reason ALREADY_APPLIED with metadata application_id, status,
  // campaign_id: common/status_details.h). Concurrent Applies are committed
  // together (ApplyBatcher); each still gets its own outcome. The deadline
  // also bounds the wait for a batch to take this Apply.
  absl::StatusOr<v1::Application> Apply(const v1::ApplyRequest& request,
                                        absl::Time deadline = absl::InfiniteFuture());
  absl::StatusOr<v1::Application> GetApplication(int64_t application_id,
                                                 absl::Time deadline = absl::InfiniteFuture());
  absl::StatusOr<v1::ListApplicationsResponse> ListApplications(
      const v1::ListApplicationsRequest& request, absl::Time deadline = absl::InfiniteFuture());
  // Pending/waitlisted/approved -> cancelled; an approved one's seat goes to
  // the oldest waitlisted application in the same transaction. Cancelled:
  // returned unchanged. Rejected or failed: FAILED_PRECONDITION.
  absl::StatusOr<v1::Application> CancelApplication(int64_t application_id,
                                                    absl::Time deadline = absl::InfiniteFuture());

  absl::StatusOr<v1::QueueStats> GetQueueStats(std::chrono::microseconds stall_threshold,
                                               absl::Time deadline = absl::InfiniteFuture());

  struct QueueDepth {
    int64_t pending = 0;
    double oldest_pending_age_seconds = 0;
  };
  // Cheap enough for every metrics scrape (the pending partial index).
  absl::StatusOr<QueueDepth> GetQueueDepth();

  // A round trip to the database: OK or UNAVAILABLE. For health checks.
  absl::Status Ping();

 private:
  db::ConnectionPool* pool_;
  ApplyBatcher apply_batcher_;
};

}  // namespace campaignq::store
