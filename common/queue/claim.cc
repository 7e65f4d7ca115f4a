#include "common/queue/claim.h"

#include <chrono>
#include <exception>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/db/pg_status.h"
#include "common/db/transaction.h"
#include "statements.h"

namespace campaignq::queue {
namespace {

using db::Exec;
using db::ReadCommittedTransaction;

// Step 1: lock the campaign to work on. Returns 0 when there is none.
// Sets *attempted before a lock that may be refused, so the caller knows
// which campaign to back off from.
int64_t ClaimCampaign(ReadCommittedTransaction& txn, const BatchRequest& request,
                      int64_t* attempted) {
  if (request.only_campaign.has_value()) {
    *attempted = *request.only_campaign;
    return Exec(txn, sql::kCampaignLock, *request.only_campaign).empty() ? 0 : *attempted;
  }
  const std::string excluded = db::BigintArrayLiteral(request.excluded_campaigns);
  if (request.lock_mode == LockMode::kSkipLocked) {
    pqxx::result claimed = Exec(txn, sql::kCampaignClaimSkipLocked, excluded);
    if (claimed.empty()) claimed = Exec(txn, sql::kCampaignClaimSkipLockedAnywhere, excluded);
    return claimed.empty() ? 0 : claimed[0][0].as<int64_t>();
  }
  pqxx::result candidate = Exec(txn, sql::kCampaignNextWithPending, excluded);
  if (candidate.empty()) return 0;
  *attempted = candidate[0][0].as<int64_t>();
  // Throws 55P03 in nowait mode when another worker holds it.
  pqxx::result locked = request.lock_mode == LockMode::kNowait
                            ? Exec(txn, sql::kCampaignLockNowait, *attempted)
                            : Exec(txn, sql::kCampaignLock, *attempted);
  return locked.empty() ? 0 : *attempted;
}

}  // namespace

absl::StatusOr<LockMode> ParseLockMode(const std::string& text) {
  if (text == "skip-locked") return LockMode::kSkipLocked;
  if (text == "nowait") return LockMode::kNowait;
  if (text == "blocking") return LockMode::kBlocking;
  return absl::InvalidArgumentError(
      absl::StrCat("--lock-mode must be skip-locked, nowait or blocking, not '", text, "'"));
}

const char* LockModeName(LockMode mode) {
  switch (mode) {
    case LockMode::kSkipLocked:
      return "skip-locked";
    case LockMode::kNowait:
      return "nowait";
    case LockMode::kBlocking:
      return "blocking";
  }
  return "?";
}

BatchResult ClaimProtocol::DecideBatch(const BatchRequest& request) {
  BatchResult result;
  const auto start = std::chrono::steady_clock::now();
  try {
    ReadCommittedTransaction txn(connection_);
    result.campaign_id = ClaimCampaign(txn, request, &result.campaign_id);
    if (result.campaign_id == 0) return result;  // nothing to do; rolls back
    result.campaign_locked = true;
    int64_t only_application = 0;  // 0: any of the campaign's pending rows
    if (request.isolate_head) {
      pqxx::result head = Exec(txn, sql::kApplicationHeadOfCampaign, result.campaign_id);
      if (head.empty()) return result;
      only_application = result.isolated_application = head[0][0].as<int64_t>();
    }
    // Step 2, a new statement and so a new snapshot: it sees every decision
    // committed before our campaign lock was granted.
    pqxx::result decided = Exec(txn, sql::kApplicationDecideBatch, result.campaign_id,
                                request.batch_size, only_application);
    for (const auto& row : decided) {
      result.decisions.push_back(
          {row[0].as<int64_t>(), row[1].as<std::string>(), row[2].as<int64_t>()});
    }
    if (!result.decisions.empty()) {
      Exec(txn, sql::kQueueNotifyDecided, std::to_string(result.campaign_id));
    }
    txn.commit();
  } catch (const std::exception& error) {
    result.decisions.clear();
    result.status = db::StatusFromException(error);
  }
  result.transaction_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

absl::StatusOr<std::string> ClaimProtocol::RecordFailure(int64_t campaign_id,
                                                         int64_t application_id,
                                                         const std::string& error,
                                                         int max_attempts) {
  return db::InTransaction(
      connection_, [&](ReadCommittedTransaction& txn) -> absl::StatusOr<std::string> {
        // The campaign lock first, as everywhere (lock order).
        if (Exec(txn, sql::kCampaignLock, campaign_id).empty()) return std::string();
        pqxx::result updated =
            Exec(txn, sql::kApplicationRecordFailure, application_id, error, max_attempts);
        if (updated.empty()) return std::string();
        const std::string status = updated[0][0].as<std::string>();
        if (status == "failed") Exec(txn, sql::kQueueNotifyDecided, std::to_string(campaign_id));
        return status;
      });
}

}  // namespace campaignq::queue
