#include "common/store/campaign_store.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/db/transaction.h"
#include "common/status_details.h"
#include "common/status_macros.h"
#include "common/store/apply_outcome.h"
#include "common/store/list_plan.h"
#include "common/store/rows.h"
#include "common/store/validation.h"
#include "statements.h"

namespace campaignq::store {
namespace {

using db::Exec;
using db::InTransaction;
using db::OneRow;
using db::ReadCommittedTransaction;

using db::internal::StatusOf;

// Runs `body` in one transaction on a pooled connection. A connection that
// broke is discarded so the pool opens a fresh one. After a database
// restart every idle pooled connection is dead, and only a query finds out:
// so a transaction that failed UNAVAILABLE runs once more on a fresh
// connection. That is safe: UNAVAILABLE means it never reached COMMIT (a
// commit whose outcome is unknown is UNKNOWN, never retried).
// The transaction is bounded by `deadline` (db::InTransaction).
template <typename Body>
auto WithTransaction(db::ConnectionPool* pool, absl::Time deadline, Body&& body)
    -> decltype(body(std::declval<ReadCommittedTransaction&>())) {
  for (int attempt = 1;; ++attempt) {
    auto connection = pool->Acquire(deadline);
    if (!connection.ok()) return connection.status();
    auto result = InTransaction(**connection, deadline, body);
    const absl::StatusCode code = StatusOf(result).code();
    if (code != absl::StatusCode::kUnavailable && code != absl::StatusCode::kUnknown) {
      return result;
    }
    connection->Discard();
    if (code == absl::StatusCode::kUnknown || attempt == 2) return result;
  }
}

// Takes the campaign lock (first in the global lock order) and returns the
// campaign's status, "closed" from its closes_at on (campaignq_closed).
// NOT_FOUND when the campaign does not exist.
absl::StatusOr<std::string> LockCampaign(ReadCommittedTransaction& txn, int64_t campaign_id) {
  ASSIGN_OR_RETURN(const pqxx::row row, OneRow(Exec(txn, sql::kCampaignLock, campaign_id),
                                               CampaignNotFound(campaign_id)));
  return row[0].as<std::string>();
}

// Locks the campaigns in id order, the one global order for several
// campaigns in one transaction. One deleted meanwhile has nothing left to
// change and is passed over.
absl::Status LockCampaignsInIdOrder(ReadCommittedTransaction& txn, std::vector<int64_t> ids) {
  std::sort(ids.begin(), ids.end());
  for (int64_t id : ids) {
    const absl::Status locked = LockCampaign(txn, id).status();
    if (!locked.ok() && !absl::IsNotFound(locked)) return locked;
  }
  return absl::OkStatus();
}

// Locks the campaign of application `application_id` (first in the lock
// order, before the application): its id and status. NOT_FOUND when the
// application does not exist.
struct LockedCampaign {
  int64_t id = 0;
  std::string status;
};
absl::StatusOr<LockedCampaign> LockCampaignOfApplication(ReadCommittedTransaction& txn,
                                                         int64_t application_id) {
  ASSIGN_OR_RETURN(const pqxx::row found, OneRow(Exec(txn, sql::kApplicationGet, application_id),
                                                 ApplicationNotFound(application_id)));
  LockedCampaign campaign;
  campaign.id = found[1].as<int64_t>();
  ASSIGN_OR_RETURN(campaign.status, LockCampaign(txn, campaign.id));
  return campaign;
}

// GetQueueStats' hold counters (CampaignHoldStats): the totals, and each
// listed campaign's own. Released and expired holds are decided.
void SetHoldStats(ReadCommittedTransaction& txn, v1::QueueStats* stats) {
  std::vector<int64_t> ids;
  std::map<int64_t, v1::CampaignQueueStats*> listed;
  for (v1::CampaignQueueStats& campaign : *stats->mutable_campaigns()) {
    ids.push_back(campaign.campaign_id());
    listed[campaign.campaign_id()] = &campaign;
  }
  const pqxx::result rows = Exec(txn, sql::kCampaignHoldStats, db::BigintArrayLiteral(ids));
  for (const pqxx::row& row : rows) {
    if (row[0].is_null()) {
      stats->set_held(row[1].as<int64_t>());
      stats->set_released(row[2].as<int64_t>());
      stats->set_expired(row[3].as<int64_t>());
      continue;
    }
    // A campaign deleted since its page row was read has none.
    const auto campaign = listed.find(row[0].as<int64_t>());
    if (campaign == listed.end()) continue;
    campaign->second->set_held(row[1].as<int32_t>());
    campaign->second->set_released(row[2].as<int64_t>());
    campaign->second->set_expired(row[3].as<int64_t>());
  }
  stats->set_decided(stats->decided() + stats->released() + stats->expired());
}

// Reads the application again once its campaign is locked: retention or
// DeleteCampaign may have deleted it after LockCampaignOfApplication read it
// and before the lock was granted (then NOT_FOUND).
absl::StatusOr<v1::Application> ReadLockedApplication(ReadCommittedTransaction& txn,
                                                      int64_t application_id) {
  ASSIGN_OR_RETURN(const pqxx::row row, OneRow(Exec(txn, sql::kApplicationGet, application_id),
                                               ApplicationNotFound(application_id)));
  return ApplicationFromRow(row);
}

// Retrying needs an open campaign: a pending application of a closed one
// would never be decided.
absl::Status RequireOpenForRetry(const LockedCampaign& campaign) {
  if (campaign.status == "open") return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("campaign ", campaign.id, " is closed: its applications cannot be retried"));
}

// Closes the campaign (takes its lock as a side effect) and rejects its
// pending and waitlisted applications. Idempotent. Shared by CloseCampaign
// and the scheduled close.
absl::StatusOr<v1::Campaign> CloseInTransaction(ReadCommittedTransaction& txn,
                                                int64_t campaign_id) {
  ASSIGN_OR_RETURN(const pqxx::row closed, OneRow(Exec(txn, sql::kCampaignMarkClosed, campaign_id),
                                                  CampaignNotFound(campaign_id)));
  // A separate statement: its snapshot is taken after the campaign lock
  // was granted, so it sees the last worker batch's decisions.
  pqxx::result rejected = Exec(txn, sql::kApplicationRejectOpenOfClosedCampaign, campaign_id);
  if (!rejected.empty()) Exec(txn, sql::kQueueNotifyDecided, std::to_string(campaign_id));
  return CampaignFromRow(closed);
}

int64_t NowMicros() { return absl::ToUnixMicros(absl::Now()); }

// Columns of a campaign row (rows.h); CampaignGetByRequestId's digest
// follows them.
constexpr int kCampaignColumns = 16;
// Rows per DELETE when purging or deleting a campaign's applications.
constexpr int64_t kDeleteBatchSize = 5000;
constexpr int kClosesPerTick = 10;

}  // namespace

absl::Status ApplicationNotFound(int64_t application_id) {
  absl::Status status =
      absl::NotFoundError(absl::StrCat("application ", application_id, " does not exist"));
  SetErrorReason(status, "APPLICATION_NOT_FOUND");
  return status;
}

CampaignStore::CampaignStore(db::ConnectionPool* pool, ApplyBatcher::Options apply)
    : pool_(pool), apply_batcher_(pool, apply) {}

absl::StatusOr<v1::Campaign> CampaignStore::CreateCampaign(const v1::CreateCampaignRequest& request,
                                                           absl::Time deadline) {
  RETURN_IF_ERROR(ValidateCampaignName(request.name()));
  std::optional<int32_t> cap;
  if (request.has_max_participants()) cap = request.max_participants();
  RETURN_IF_ERROR(ValidateMaxParticipants(cap));
  RETURN_IF_ERROR(ValidateRequestId(request.request_id()));
  ASSIGN_OR_RETURN(const Schedule schedule, ValidateSchedule(request, NowMicros()));
  ASSIGN_OR_RETURN(const Holds holds, ValidateHolds(request));
  const bool waitlist = request.has_waitlist() ? request.waitlist() : true;
  std::optional<std::string> request_id, digest;
  if (!request.request_id().empty()) {
    request_id = request.request_id();
    digest = CreateCampaignDigest(request);
  }
  return WithTransaction(
      pool_, deadline, [&](ReadCommittedTransaction& txn) -> absl::StatusOr<v1::Campaign> {
        pqxx::result inserted =
            Exec(txn, sql::kCampaignInsert, request.name(), cap, waitlist, schedule.opens_at_micros,
                 schedule.closes_at_micros, request_id, digest, schedule.prequeue_opens_at_micros,
                 holds.hold_duration_ms, holds.max_active_holds);
        if (!inserted.empty()) return CampaignFromRow(inserted[0]);
        // The request id was used before: a retry gets what the first call
        // made; a different request under the same id is the caller's bug.
        ASSIGN_OR_RETURN(const pqxx::row earlier,
                         OneRow(Exec(txn, sql::kCampaignGetByRequestId, *request_id),
                                absl::AbortedError("request_id changed hands; retry")));
        if (earlier[kCampaignColumns].as<std::string>() != *digest) {
          return absl::AlreadyExistsError(
              absl::StrCat("request_id ", *request_id,
                           " was already used by a different "
                           "CreateCampaign request (campaign ",
                           earlier[0].as<int64_t>(), "); use a new request_id for a new campaign"));
        }
        return CampaignFromRow(earlier);
      });
}

absl::StatusOr<v1::Campaign> CampaignStore::GetCampaign(int64_t campaign_id, absl::Time deadline) {
  RETURN_IF_ERROR(ValidateId(campaign_id, "campaign_id"));
  return WithTransaction(
      pool_, deadline, [&](ReadCommittedTransaction& txn) -> absl::StatusOr<v1::Campaign> {
        ASSIGN_OR_RETURN(const pqxx::row row, OneRow(Exec(txn, sql::kCampaignGet, campaign_id),
                                                     CampaignNotFound(campaign_id)));
        return CampaignFromRow(row);
      });
}

absl::StatusOr<v1::ListCampaignsResponse> CampaignStore::ListCampaigns(
    const v1::ListCampaignsRequest& request, absl::Time deadline) {
  ASSIGN_OR_RETURN(const int page_size, ResolvePageSize(request.page_size()));
  ASSIGN_OR_RETURN(const int64_t after_id, DecodePageToken(request.page_token()));
  return WithTransaction(
      pool_, deadline,
      [&](ReadCommittedTransaction& txn) -> absl::StatusOr<v1::ListCampaignsResponse> {
        // One row more than a page tells whether another page follows.
        pqxx::result rows = Exec(txn, sql::kCampaignListAfter, after_id, page_size + 1);
        v1::ListCampaignsResponse response;
        for (int i = 0; i < static_cast<int>(rows.size()) && i < page_size; ++i) {
          *response.add_campaigns() = CampaignFromRow(rows[i]);
        }
        if (static_cast<int>(rows.size()) > page_size) {
          response.set_next_page_token(EncodePageToken(response.campaigns().rbegin()->id()));
        }
        return response;
      });
}

absl::StatusOr<v1::Campaign> CampaignStore::CloseCampaign(int64_t campaign_id,
                                                          absl::Time deadline) {
  RETURN_IF_ERROR(ValidateId(campaign_id, "campaign_id"));
  return WithTransaction(pool_, deadline, [&](ReadCommittedTransaction& txn) {
    return CloseInTransaction(txn, campaign_id);
  });
}

absl::StatusOr<v1::Campaign> CampaignStore::PauseCampaign(int64_t campaign_id,
                                                          absl::Time deadline) {
  return SetPaused(campaign_id, true, deadline);
}

absl::StatusOr<v1::Campaign> CampaignStore::ResumeCampaign(int64_t campaign_id,
                                                           absl::Time deadline) {
  return SetPaused(campaign_id, false, deadline);
}

absl::StatusOr<int64_t> CampaignStore::DeleteCampaign(int64_t campaign_id, absl::Time deadline) {
  RETURN_IF_ERROR(ValidateId(campaign_id, "campaign_id"));
  ASSIGN_OR_RETURN(const v1::Campaign campaign, GetCampaign(campaign_id, deadline));
  if (campaign.status() != v1::CAMPAIGN_STATUS_CLOSED) {
    return absl::FailedPreconditionError(absl::StrCat(
        "campaign ", campaign_id, " is open; close it (CloseCampaign) before deleting it"));
  }
  // Closed campaigns take no new applications, so the batches only shrink.
  // Each batch takes the campaign lock first, as everything that changes a
  // campaign's applications does: a cancel or retry of one of them waits,
  // then finds it gone.
  int64_t deleted = 0;
  for (;;) {
    ASSIGN_OR_RETURN(
        const int64_t batch,
        WithTransaction(
            pool_, deadline, [&](ReadCommittedTransaction& txn) -> absl::StatusOr<int64_t> {
              RETURN_IF_ERROR(LockCampaign(txn, campaign_id).status());
              return static_cast<int64_t>(
                  Exec(txn, sql::kApplicationDeleteOfCampaign, campaign_id, kDeleteBatchSize)
                      .affected_rows());
            }));
    deleted += batch;
    if (batch < kDeleteBatchSize) break;
  }
  ASSIGN_OR_RETURN(
      const bool gone,
      WithTransaction(pool_, deadline, [&](ReadCommittedTransaction& txn) -> absl::StatusOr<bool> {
        RETURN_IF_ERROR(LockCampaign(txn, campaign_id).status());
        return Exec(txn, sql::kCampaignDelete, campaign_id).affected_rows() == 1;
      }));
  if (!gone) return CampaignNotFound(campaign_id);
  return deleted;
}

absl::StatusOr<v1::Application> CampaignStore::Apply(const v1::ApplyRequest& request,
                                                     absl::Time deadline) {
  RETURN_IF_ERROR(ValidateId(request.campaign_id(), "campaign_id"));
  RETURN_IF_ERROR(ValidateUserId(request.user_id()));
  return apply_batcher_.Apply(request.campaign_id(), request.user_id(), deadline);
}

void CampaignStore::ApplyAsync(int64_t campaign_id, std::string user_id, absl::Time deadline,
                               ApplyBatcher::Done done, std::string caller) {
  absl::Status valid = ValidateId(campaign_id, "campaign_id");
  if (valid.ok()) valid = ValidateUserId(user_id);
  if (!valid.ok()) {
    done(std::move(valid));
    return;
  }
  apply_batcher_.ApplyAsync(campaign_id, std::move(user_id), deadline, std::move(done),
                            std::move(caller));
}

absl::StatusOr<v1::Application> CampaignStore::GetApplication(int64_t application_id,
                                                              absl::Time deadline) {
  RETURN_IF_ERROR(ValidateId(application_id, "application_id"));
  return WithTransaction(pool_, deadline,
                         [&](ReadCommittedTransaction& txn) -> absl::StatusOr<v1::Application> {
                           ASSIGN_OR_RETURN(const pqxx::row row,
                                            OneRow(Exec(txn, sql::kApplicationGet, application_id),
                                                   ApplicationNotFound(application_id)));
                           return ApplicationFromRow(row);
                         });
}

absl::StatusOr<ApplicationInLine> CampaignStore::GetApplicationInLine(int64_t application_id,
                                                                      absl::Time deadline) {
  RETURN_IF_ERROR(ValidateId(application_id, "application_id"));
  return WithTransaction(
      pool_, deadline, [&](ReadCommittedTransaction& txn) -> absl::StatusOr<ApplicationInLine> {
        Exec(txn, sql::kSessionOrderedIndexScans);
        ASSIGN_OR_RETURN(const pqxx::row row,
                         OneRow(Exec(txn, sql::kApplicationGetInLine, application_id),
                                ApplicationNotFound(application_id)));
        return ApplicationInLineFromRow(row);
      });
}

absl::StatusOr<v1::ListApplicationsResponse> CampaignStore::ListApplications(
    const v1::ListApplicationsRequest& request, absl::Time deadline) {
  if (request.campaign_id() < 0) {
    return InvalidFieldError("campaign_id",
                             "campaign_id must be a positive id, or 0 for every campaign");
  }
  if (!v1::ApplicationStatus_IsValid(request.status())) {
    return InvalidFieldError("status", absl::StrCat("unknown status ", request.status()));
  }
  ASSIGN_OR_RETURN(const int page_size, ResolvePageSize(request.page_size()));
  ASSIGN_OR_RETURN(const int64_t after_id, DecodePageToken(request.page_token()));
  const std::string status_word = ApplicationStatusWord(request.status());
  return WithTransaction(
      pool_, deadline,
      [&](ReadCommittedTransaction& txn) -> absl::StatusOr<v1::ListApplicationsResponse> {
        Exec(txn, sql::kSessionCustomPlans);
        const ApplicationListPlan plan = PlanApplicationList(
            request.campaign_id(), status_word, request.user_id(), after_id, page_size + 1);
        pqxx::result rows =
            Exec(txn, plan.statement, pqxx::prepare::make_dynamic_params(plan.args));
        v1::ListApplicationsResponse response;
        for (int i = 0; i < static_cast<int>(rows.size()) && i < page_size; ++i) {
          *response.add_applications() = ApplicationFromRow(rows[i]);
        }
        if (static_cast<int>(rows.size()) > page_size) {
          response.set_next_page_token(EncodePageToken(response.applications().rbegin()->id()));
        }
        return response;
      });
}

absl::StatusOr<v1::Application> CampaignStore::CancelApplication(int64_t application_id,
                                                                 absl::Time deadline) {
  RETURN_IF_ERROR(ValidateId(application_id, "application_id"));
  return WithTransaction(
      pool_, deadline, [&](ReadCommittedTransaction& txn) -> absl::StatusOr<v1::Application> {
        // Lock order: the campaign, then the application.
        ASSIGN_OR_RETURN(const LockedCampaign campaign,
                         LockCampaignOfApplication(txn, application_id));
        const int64_t campaign_id = campaign.id;
        ASSIGN_OR_RETURN(const pqxx::row locked,
                         OneRow(Exec(txn, sql::kApplicationLock, application_id),
                                ApplicationNotFound(application_id)));
        const std::string status = locked[0].as<std::string>();
        if (status == "cancelled") return ReadLockedApplication(txn, application_id);
        if (status != "pending" && status != "waitlisted" && status != "approved" &&
            status != "held") {
          absl::Status final_status = absl::FailedPreconditionError(absl::StrCat(
              "application ", application_id, " is ", status, " and can no longer be cancelled"));
          SetErrorReason(final_status, "APPLICATION_FINAL");
          return final_status;
        }
        pqxx::result cancelled = Exec(txn, sql::kApplicationCancel, application_id, status);
        if (cancelled.empty()) {
          return absl::AbortedError("application changed while it was locked; retry");
        }
        // An approved or held one gives its seat back. Every free seat then
        // goes to whoever is first in line (ApplicationFillFreeSeats): a
        // cancelled pending one may have been the application a seat was
        // left for.
        Exec(txn, sql::kApplicationFillFreeSeats, campaign_id, status == "approved" ? -1 : 0,
             status == "held" ? -1 : 0);
        Exec(txn, sql::kQueueNotifyDecided, std::to_string(campaign_id));
        return ApplicationFromRow(cancelled[0]);
      });
}

namespace {

// A user-facing hold call refused the campaign lock (SessionUserLockTimeout):
// a worker's batch held it for longer. The caller retries; the database's
// text says nothing it can act on.
absl::Status HoldLockBusy(const absl::Status& status, int64_t application_id) {
  if (db::SqlState(status) != db::kSqlstateLockNotAvailable) return status;
  absl::Status busy = absl::AbortedError(
      absl::StrCat("application ", application_id, "'s campaign is busy deciding; retry shortly"));
  SetRetryDelay(busy, absl::Milliseconds(200));
  return busy;
}

absl::Status NotHeld(int64_t application_id, const v1::Application& current, const char* verb) {
  absl::Status status = absl::FailedPreconditionError(
      absl::StrCat("application ", application_id, " is ", ApplicationStatusWord(current.status()),
                   "; only a held application can be ", verb));
  SetErrorReason(status, "APPLICATION_NOT_HELD");
  return status;
}

// Confirm's and Release's transaction: a bounded wait for the campaign lock
// (SessionUserLockTimeout), then the campaign, then `body` with its id.
template <typename Body>
absl::StatusOr<v1::Application> HoldCall(db::ConnectionPool* pool, int64_t application_id,
                                         absl::Time deadline, Body&& body) {
  RETURN_IF_ERROR(ValidateId(application_id, "application_id"));
  absl::StatusOr<v1::Application> result = WithTransaction(
      pool, deadline, [&](ReadCommittedTransaction& txn) -> absl::StatusOr<v1::Application> {
        Exec(txn, sql::kSessionUserLockTimeout);
        // Lock order: the campaign, then the application.
        ASSIGN_OR_RETURN(const LockedCampaign campaign,
                         LockCampaignOfApplication(txn, application_id));
        return body(txn, campaign.id);
      });
  if (!result.ok()) return HoldLockBusy(result.status(), application_id);
  return result;
}

}  // namespace

absl::StatusOr<v1::Application> CampaignStore::ConfirmApplication(int64_t application_id,
                                                                  absl::Time deadline) {
  return HoldCall(
      pool_, application_id, deadline,
      [&](ReadCommittedTransaction& txn, int64_t campaign_id) -> absl::StatusOr<v1::Application> {
        pqxx::result confirmed = Exec(txn, sql::kApplicationConfirmHold, application_id);
        if (confirmed.empty()) {
          ASSIGN_OR_RETURN(const v1::Application current,
                           ReadLockedApplication(txn, application_id));
          if (current.status() == v1::APPLICATION_STATUS_APPROVED) return current;
          if (current.status() == v1::APPLICATION_STATUS_HELD) {
            absl::Status expired = absl::FailedPreconditionError(
                absl::StrCat("the hold of application ", application_id, " has expired"));
            SetErrorReason(expired, "HOLD_EXPIRED");
            return expired;
          }
          return NotHeld(application_id, current, "confirmed");
        }
        // The seat stays taken but the hold ends: under max_active_holds
        // that makes room for the next in line's hold.
        Exec(txn, sql::kApplicationFillFreeSeats, campaign_id, 0, 0);
        Exec(txn, sql::kApplicationRejectWaitingOfFullCampaign, campaign_id);
        Exec(txn, sql::kQueueNotifyDecided, std::to_string(campaign_id));
        return ApplicationFromRow(confirmed[0]);
      });
}

absl::StatusOr<v1::Application> CampaignStore::ReleaseApplication(int64_t application_id,
                                                                  absl::Time deadline) {
  return HoldCall(
      pool_, application_id, deadline,
      [&](ReadCommittedTransaction& txn, int64_t campaign_id) -> absl::StatusOr<v1::Application> {
        pqxx::result released = Exec(txn, sql::kApplicationReleaseHold, application_id);
        if (released.empty()) {
          ASSIGN_OR_RETURN(const v1::Application current,
                           ReadLockedApplication(txn, application_id));
          if (current.status() == v1::APPLICATION_STATUS_RELEASED) return current;
          return NotHeld(application_id, current, "released");
        }
        Exec(txn, sql::kApplicationFillFreeSeats, campaign_id, 0, -1);
        Exec(txn, sql::kQueueNotifyDecided, std::to_string(campaign_id));
        return ApplicationFromRow(released[0]);
      });
}

absl::StatusOr<v1::Application> CampaignStore::RetryApplication(int64_t application_id,
                                                                absl::Time deadline) {
  RETURN_IF_ERROR(ValidateId(application_id, "application_id"));
  return WithTransaction(
      pool_, deadline, [&](ReadCommittedTransaction& txn) -> absl::StatusOr<v1::Application> {
        ASSIGN_OR_RETURN(const LockedCampaign campaign,
                         LockCampaignOfApplication(txn, application_id));
        RETURN_IF_ERROR(RequireOpenForRetry(campaign));
        const int64_t campaign_id = campaign.id;
        if (Exec(txn, sql::kApplicationRetryFailed, campaign_id, application_id).empty()) {
          ASSIGN_OR_RETURN(const v1::Application current,
                           ReadLockedApplication(txn, application_id));
          return absl::FailedPreconditionError(absl::StrCat(
              "application ", application_id, " is ", ApplicationStatusWord(current.status()),
              "; only failed applications can be retried"));
        }
        Exec(txn, sql::kCampaignNotifyPending, std::to_string(campaign_id));
        return ReadLockedApplication(txn, application_id);
      });
}

absl::StatusOr<int64_t> CampaignStore::RetryFailedApplications(int64_t campaign_id,
                                                               absl::Time deadline) {
  RETURN_IF_ERROR(ValidateId(campaign_id, "campaign_id"));
  return WithTransaction(
      pool_, deadline, [&](ReadCommittedTransaction& txn) -> absl::StatusOr<int64_t> {
        ASSIGN_OR_RETURN(const std::string campaign_status, LockCampaign(txn, campaign_id));
        RETURN_IF_ERROR(RequireOpenForRetry({campaign_id, campaign_status}));
        const int64_t retried =
            static_cast<int64_t>(Exec(txn, sql::kApplicationRetryFailed, campaign_id, 0).size());
        if (retried > 0) Exec(txn, sql::kCampaignNotifyPending, std::to_string(campaign_id));
        return retried;
      });
}

absl::StatusOr<v1::QueueStats> CampaignStore::GetQueueStats(
    std::chrono::microseconds stall_threshold, const StatsPage& page, absl::Time deadline) {
  if (stall_threshold.count() <= 0) {
    return InvalidFieldError("stall_threshold", "stall_threshold must be positive");
  }
  ASSIGN_OR_RETURN(const int page_size, ResolvePageSize(page.page_size));
  ASSIGN_OR_RETURN(const int64_t after_id, DecodePageToken(page.page_token));
  return WithTransaction(
      pool_, deadline, [&](ReadCommittedTransaction& txn) -> absl::StatusOr<v1::QueueStats> {
        v1::QueueStats stats;
        ASSIGN_OR_RETURN(const pqxx::row totals, OneRow(Exec(txn, sql::kQueueTotals)));
        stats.set_pending(totals[0].as<int64_t>());
        stats.set_waitlisted(totals[1].as<int64_t>());
        stats.set_failed(totals[2].as<int64_t>());
        stats.set_approved(totals[3].as<int64_t>());
        stats.set_rejected(totals[4].as<int64_t>());
        stats.set_cancelled(totals[5].as<int64_t>());
        stats.set_decided(stats.approved() + stats.rejected() + stats.cancelled());
        ASSIGN_OR_RETURN(const pqxx::row heads,
                         OneRow(Exec(txn, sql::kQueueHeadsSummary, stall_threshold.count())));
        SetMicros(heads[0].is_null() ? 0 : heads[0].as<int64_t>(),
                  stats.mutable_oldest_pending_age());
        const std::vector<int64_t> stalled_ids = db::ParseBigintArray(heads[1].c_str());
        stats.mutable_stalled_campaign_ids()->Add(stalled_ids.begin(), stalled_ids.end());
        const std::set<int64_t> stalled(stalled_ids.begin(), stalled_ids.end());
        // One row more than a page tells whether another page follows.
        pqxx::result rows = Exec(txn, sql::kQueueCampaignStatsPage, after_id, page_size + 1);
        for (int i = 0; i < static_cast<int>(rows.size()) && i < page_size; ++i) {
          const pqxx::row row = rows[i];
          v1::CampaignQueueStats* campaign = stats.add_campaigns();
          campaign->set_campaign_id(row[0].as<int64_t>());
          campaign->set_name(row[1].as<std::string>());
          if (!row[2].is_null()) campaign->set_max_participants(row[2].as<int32_t>());
          campaign->set_approved_count(row[3].as<int32_t>());
          campaign->set_status(row[4].as<std::string>() == "closed" ? v1::CAMPAIGN_STATUS_CLOSED
                                                                    : v1::CAMPAIGN_STATUS_OPEN);
          campaign->set_pending(row[5].as<int64_t>());
          campaign->set_waitlisted(row[6].as<int64_t>());
          SetMicros(row[7].as<int64_t>(), campaign->mutable_oldest_pending_age());
          campaign->set_stalled(stalled.count(campaign->campaign_id()) > 0);
        }
        if (static_cast<int>(rows.size()) > page_size) {
          stats.set_next_page_token(EncodePageToken(stats.campaigns().rbegin()->campaign_id()));
        }
        SetHoldStats(txn, &stats);
        return stats;
      });
}

absl::StatusOr<CampaignStore::QueueDepth> CampaignStore::GetQueueDepth(absl::Time deadline) {
  return WithTransaction(
      pool_, deadline, [&](ReadCommittedTransaction& txn) -> absl::StatusOr<QueueDepth> {
        ASSIGN_OR_RETURN(const pqxx::row row, OneRow(Exec(txn, sql::kQueueDepth)));
        QueueDepth depth;
        depth.pending = row[0].as<int64_t>();
        depth.oldest_pending_age_seconds = row[1].is_null() ? 0 : row[1].as<int64_t>() / 1e6;
        return depth;
      });
}

absl::StatusOr<CampaignStore::MaintenanceReport> CampaignStore::RunMaintenanceTick(
    std::chrono::microseconds retain_decided) {
  return WithTransaction(
      pool_, absl::InfiniteFuture(),
      [&](ReadCommittedTransaction& txn) -> absl::StatusOr<MaintenanceReport> {
        MaintenanceReport report;
        ASSIGN_OR_RETURN(const pqxx::row lead, OneRow(Exec(txn, sql::kMaintenanceTryLead)));
        report.leader = lead[0].as<bool>();
        if (!report.leader) return report;
        // A handful per tick keeps the transaction short; the next tick
        // follows at once while campaigns are due.
        std::vector<int64_t> to_close;
        for (const auto& row : Exec(txn, sql::kCampaignDueToClose, kClosesPerTick)) {
          to_close.push_back(row[0].as<int64_t>());
        }
        std::optional<int64_t> to_purge;
        if (retain_decided.count() > 0) {
          pqxx::result due = Exec(txn, sql::kCampaignDueForPurge, retain_decided.count(), 1);
          if (!due.empty()) to_purge = due[0][0].as<int64_t>();
        }
        // Every campaign this tick changes, locked first and in id order
        // (docs/architecture.md, Lock order): a cancel racing the purge of its
        // application waits, then finds it gone.
        std::vector<int64_t> to_lock = to_close;
        if (to_purge) to_lock.push_back(*to_purge);
        RETURN_IF_ERROR(LockCampaignsInIdOrder(txn, to_lock));
        for (int64_t campaign_id : to_close) {
          const absl::Status closed = CloseInTransaction(txn, campaign_id).status();
          if (absl::IsNotFound(closed)) continue;
          RETURN_IF_ERROR(closed);
          ++report.closed_campaigns;
        }
        if (to_purge) {
          report.purged_applications =
              Exec(txn, sql::kApplicationDeleteOfCampaign, *to_purge, kDeleteBatchSize)
                  .affected_rows();
          if (report.purged_applications < kDeleteBatchSize) {
            Exec(txn, sql::kCampaignMarkPurged, *to_purge);
          }
        }
        report.announced_openings =
            static_cast<int>(Exec(txn, sql::kCampaignAnnounceOpenings, kClosesPerTick).size());
        ASSIGN_OR_RETURN(const pqxx::row next, OneRow(Exec(txn, sql::kCampaignNextCloseInMicros)));
        if (!next[0].is_null()) {
          report.next_close_in = std::chrono::microseconds(next[0].as<int64_t>());
        }
        ASSIGN_OR_RETURN(const pqxx::row opening,
                         OneRow(Exec(txn, sql::kCampaignNextOpeningInMicros)));
        if (!opening[0].is_null()) {
          report.next_opening_in = std::chrono::microseconds(opening[0].as<int64_t>());
        }
        return report;
      });
}

absl::StatusOr<v1::Campaign> CampaignStore::SetPaused(int64_t campaign_id, bool paused,
                                                      absl::Time deadline) {
  RETURN_IF_ERROR(ValidateId(campaign_id, "campaign_id"));
  return WithTransaction(
      pool_, deadline, [&](ReadCommittedTransaction& txn) -> absl::StatusOr<v1::Campaign> {
        ASSIGN_OR_RETURN(const std::string status, LockCampaign(txn, campaign_id));
        if (status != "open") {
          return absl::FailedPreconditionError(
              absl::StrCat("campaign ", campaign_id, " is closed; only open campaigns can be ",
                           paused ? "paused" : "resumed"));
        }
        ASSIGN_OR_RETURN(const pqxx::row row,
                         OneRow(Exec(txn, sql::kCampaignSetPaused, campaign_id, paused),
                                CampaignNotFound(campaign_id)));
        v1::Campaign campaign = CampaignFromRow(row);
        // Idle workers wait for a wake-up; resumed work is new work to them.
        if (!paused) Exec(txn, sql::kCampaignNotifyPending, std::to_string(campaign_id));
        return campaign;
      });
}

absl::Status CampaignStore::Ping() {
  return WithTransaction(pool_, absl::InfiniteFuture(),
                         [&](ReadCommittedTransaction& txn) -> absl::Status {
                           Exec(txn, sql::kSessionPing);
                           return absl::OkStatus();
                         });
}

}  // namespace campaignq::store
