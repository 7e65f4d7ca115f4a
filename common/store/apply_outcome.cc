#include "common/store/apply_outcome.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/db/transaction.h"
#include "common/store/rows.h"
#include "common/store/validation.h"
#include "statements.h"

namespace campaignq::store {
namespace {

constexpr int kCampaignStatusColumn = 1;
constexpr int kApplicationColumns = 2;
constexpr int kOpensAtColumn = kApplicationColumns + 10;

}  // namespace

absl::StatusOr<v1::Application> ApplyOutcome(db::ReadCommittedTransaction& txn, int64_t campaign_id,
                                             const std::string& user_id, const pqxx::row& row) {
  if (row[kCampaignStatusColumn].is_null()) {
    return absl::NotFoundError(absl::StrCat("campaign ", campaign_id, " does not exist"));
  }
  if (!row[kApplicationColumns].is_null()) return ApplicationFromRow(row, kApplicationColumns);
  pqxx::result existing = db::Exec(txn, sql::kApplicationGetByUser, campaign_id, user_id);
  if (!existing.empty()) {
    const v1::Application application = ApplicationFromRow(existing[0]);
    return absl::AlreadyExistsError(absl::StrCat(
        "user '", user_id, "' already applied to campaign ", campaign_id, ": application ",
        application.id(), " is ", ApplicationStatusWord(application.status())));
  }
  if (row[kCampaignStatusColumn].as<std::string>() == "not_yet_open") {
    return absl::FailedPreconditionError(
        absl::StrCat("campaign ", campaign_id, " opens at ",
                     absl::FormatTime(absl::RFC3339_full,
                                      absl::FromUnixMicros(row[kOpensAtColumn].as<int64_t>()),
                                      absl::UTCTimeZone()),
                     "; apply from then on"));
  }
  return absl::FailedPreconditionError(
      absl::StrCat("campaign ", campaign_id, " is closed and takes no new applications"));
}

}  // namespace campaignq::store
