#include "common/store/apply_outcome.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/db/transaction.h"
#include "common/status_details.h"
#include "common/store/apply_queue.h"
#include "common/store/rows.h"
#include "common/store/validation.h"
#include "statements.h"

namespace campaignq::store {
namespace {

constexpr int kCampaignStatusColumn = 1;
constexpr int kApplicationColumns = 2;
constexpr int kOpensAtColumn = kApplicationColumns + 11;

}  // namespace

absl::Status CampaignNotFound(int64_t campaign_id) {
  absl::Status status =
      absl::NotFoundError(absl::StrCat("campaign ", campaign_id, " does not exist"));
  SetErrorReason(status, "CAMPAIGN_NOT_FOUND");
  return status;
}

absl::StatusOr<v1::Application> ApplyOutcome(db::ReadCommittedTransaction& txn, int64_t campaign_id,
                                             const std::string& user_id, const pqxx::row& row) {
  if (row[kCampaignStatusColumn].is_null()) return CampaignNotFound(campaign_id);
  if (!row[kApplicationColumns].is_null()) return ApplicationFromRow(row, kApplicationColumns);
  pqxx::result existing = db::Exec(txn, sql::kApplicationGetByUser, campaign_id, user_id);
  if (!existing.empty())
    return AlreadyApplied(campaign_id, user_id, ApplicationFromRow(existing[0]));
  if (row[kCampaignStatusColumn].as<std::string>() == "not_yet_open") {
    absl::Status not_open = absl::FailedPreconditionError(
        absl::StrCat("campaign ", campaign_id, " opens at ",
                     absl::FormatTime(absl::RFC3339_full,
                                      absl::FromUnixMicros(row[kOpensAtColumn].as<int64_t>()),
                                      absl::UTCTimeZone()),
                     "; apply from then on"));
    SetErrorReason(not_open, "CAMPAIGN_NOT_OPEN");
    return not_open;
  }
  absl::Status closed = absl::FailedPreconditionError(
      absl::StrCat("campaign ", campaign_id, " is closed and takes no new applications"));
  SetErrorReason(closed, "CAMPAIGN_CLOSED");
  return closed;
}

}  // namespace campaignq::store
