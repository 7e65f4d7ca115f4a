#include "common/queue/claim.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <optional>
#include <pqxx/pqxx>
#include <stdexcept>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/db/pg_status.h"
#include "common/db/transaction.h"
#include "common/queue/claim_window.h"
#include "statements.h"

namespace campaignq::queue {
namespace {

using db::Exec;
using db::ReadCommittedTransaction;

// Candidates read per campaign a batch may lock: slack for the campaigns
// other workers hold, so that workers with the same candidates still each
// find free ones (32 threads x 25 campaigns fit in 1,024 candidates).
constexpr int kCandidatesPerCampaign = 32;

// Step 1: the candidates, from the window at the worker's low-water mark
// (claim_window.h), rebasing it first when due. When a window holds
// nothing this worker may take but was full, the next one is read, up to
// ClaimWindow::Options::max_scans.
WindowPick ReadCandidates(ReadCommittedTransaction& txn, const WindowClaim& request,
                          ClaimWindow& window) {
  const auto now = ClaimWindow::Clock::now();
  std::optional<int64_t> from = window.StartOrRebase(now);
  if (!from.has_value()) {
    // An aggregate: one row, NULL when nothing claimable is pending.
    const absl::StatusOr<pqxx::row> lowest = db::OneRow(Exec(txn, sql::kQueueClaimLowWaterMark));
    if (!lowest.ok()) throw std::logic_error(std::string(lowest.status().message()));
    window.Rebased(
        (*lowest)[0].is_null() ? std::nullopt : std::optional<int64_t>((*lowest)[0].as<int64_t>()),
        now);
    from = window.mark();
  }
  const int limit = std::max(1, request.max_campaigns) * kCandidatesPerCampaign;
  WindowPick pick;
  for (int scan = 0; scan < window.options().max_scans && from.has_value(); ++scan) {
    std::vector<WindowCampaign> campaigns;
    for (const auto& row :
         Exec(txn, sql::kQueueClaimCandidates, *from, window.options().window_rows)) {
      campaigns.push_back({row[0].as<int64_t>(), row[1].as<int64_t>(), row[2].as<int64_t>(),
                           row[3].as<int64_t>(), row[4].as<bool>(), row[5].as<bool>()});
    }
    pick = PickCandidates(campaigns, request.excluded_campaigns, limit);
    if (!campaigns.empty()) pick.nothing_pending = false;
    from = window.Scanned(*from, campaigns);
    if (!pick.empty()) break;
  }
  // A NOTIFY named them (their rows may be below the mark: an Apply that
  // committed late, a retry, a resume) and they are capped or closed.
  for (int64_t campaign : request.hinted_campaigns) {
    if (std::find(request.excluded_campaigns.begin(), request.excluded_campaigns.end(), campaign) !=
            request.excluded_campaigns.end() ||
        std::find(pick.capped.begin(), pick.capped.end(), campaign) != pick.capped.end()) {
      continue;
    }
    pick.capped.push_back(campaign);
  }
  return pick;
}

// Step 1b, skip-locked: lock the campaigns to work on, in id order. Returns
// none when there is nothing this worker may take.
std::vector<int64_t> LockCandidates(ReadCommittedTransaction& txn, const WindowClaim& request,
                                    const WindowPick& pick) {
  const std::vector<int64_t>& candidates = pick.capped;
  std::vector<int64_t> claimed;
  // When the fairest campaigns are all held by other workers, they are
  // being worked on: this worker has nothing fair to do and waits for a
  // wake-up. Only when the window offers nothing it may take (everything
  // there left out, or uncapped) does it look at every campaign: that
  // loose index scan cost 20-30 ms of PostgreSQL CPU per empty claim with
  // 8 processes x 4 threads on 20 campaigns (docs/scaling.md). And not
  // when nothing is pending from the mark on: what is below it is the
  // next rebase's (claim_window.h), or came with a NOTIFY and is among
  // the candidates; while the horizon was pinned that empty claim's scan
  // over every campaign was most of PostgreSQL's CPU (bench/RESULTS.md,
  // "Pressure").
  if (candidates.empty() && pick.nothing_pending) return claimed;
  const pqxx::result locked =
      candidates.empty()
          ? Exec(txn, sql::kCampaignClaimSkipLockedAnywhere,
                 db::BigintArrayLiteral(request.excluded_campaigns))
          : Exec(txn, sql::kCampaignClaimSkipLocked, db::BigintArrayLiteral(candidates),
                 std::max(1, request.max_campaigns));
  for (const auto& row : locked) claimed.push_back(row[0].as<int64_t>());
  return claimed;
}

// NOWAIT refused the campaign lock: another worker holds it. The one
// statement whose error is an answer rather than a failure; anything else
// propagates to RunBatch.
bool LockRefused(const pqxx::sql_error& error) {
  return error.sqlstate() == db::kSqlstateLockNotAvailable;
}

void AppendDecisions(const pqxx::result& rows, std::vector<Decision>* decisions) {
  for (const auto& row : rows) {
    decisions->push_back({row[0].as<int64_t>(), row[1].as<std::string>(), row[2].as<int64_t>(),
                          row[3].as<int64_t>()});
  }
}

// Step 1a on the first of `campaigns` (uncapped, fairest first) with a
// pending row no other worker holds; false when there was none (nothing
// decided, one row at most locked, released by the caller's rollback). The
// caller ran QueueSetCounterLockTimeout in `txn` first. A campaign closed
// (or paused) while its rows were approved sets result->status to 40001:
// the caller must roll back, and the retry rejects them (or leaves them
// pending).
bool DecideUncapped(ReadCommittedTransaction& txn, const std::vector<int64_t>& campaigns,
                    int batch_size, BatchResult* result) {
  const pqxx::result decided =
      Exec(txn, sql::kApplicationDecideUncapped, db::BigintArrayLiteral(campaigns), batch_size);
  if (decided.empty()) return false;
  result->campaign_id = decided[0][3].as<int64_t>();
  result->campaign_ids = {result->campaign_id};
  for (const auto& row : decided) {
    if (!row[4].as<bool>() && row[1].as<std::string>() == "approved") {
      result->status = db::StatusFromException(
          pqxx::serialization_failure("campaign " + std::to_string(result->campaign_id) +
                                      " was closed or paused while its rows were approved"));
      return true;
    }
  }
  AppendDecisions(decided, &result->decisions);
  return true;
}

// Step 2 for the campaigns of result->campaign_ids, locked by the caller in
// `txn`: their oldest pending applications, or only `only_application`
// (0: any). A new statement and so a new snapshot: it sees every decision
// committed before the campaign locks were granted.
void DecideLocked(ReadCommittedTransaction& txn, int batch_size, int64_t only_application,
                  BatchResult* result) {
  result->campaign_id = result->campaign_ids.front();
  result->campaign_locked = true;
  AppendDecisions(Exec(txn, sql::kApplicationDecideBatch,
                       db::BigintArrayLiteral(result->campaign_ids), batch_size, only_application),
                  &result->decisions);
  txn.commit();
}

// Steps 1-3 for the fairest campaign not in `excluded`: waiting for its
// lock, or with `nowait` refused at once when another worker holds it.
void DecideFairest(db::Connection& connection, bool nowait, int batch_size,
                   const std::vector<int64_t>& excluded, BatchResult* result) {
  ReadCommittedTransaction txn(connection);
  const pqxx::result candidate =
      Exec(txn, sql::kCampaignNextWithPending, db::BigintArrayLiteral(excluded));
  if (candidate.empty()) return;  // nothing to do; rolls back
  result->campaign_id = candidate[0][0].as<int64_t>();
  pqxx::result locked;
  if (nowait) {
    try {
      locked = Exec(txn, sql::kCampaignLockNowait, result->campaign_id);
    } catch (const pqxx::sql_error& error) {
      if (!LockRefused(error)) throw;
      result->lock_refused = true;  // rolls back
      return;
    }
  } else {
    locked = Exec(txn, sql::kCampaignLock, result->campaign_id);
  }
  if (locked.empty()) return;
  result->campaign_ids = {result->campaign_id};
  DecideLocked(txn, batch_size, 0, result);
}

// Steps 1b-3 for `campaign_id` alone, waiting for its lock; with
// `isolate_head`, its oldest pending application alone.
void DecideOne(db::Connection& connection, int64_t campaign_id, int batch_size, bool isolate_head,
               BatchResult* result) {
  ReadCommittedTransaction txn(connection);
  result->campaign_id = campaign_id;
  if (Exec(txn, sql::kCampaignLock, campaign_id).empty()) return;  // no such campaign
  result->campaign_ids = {campaign_id};
  int64_t only_application = 0;
  if (isolate_head) {
    const pqxx::result head = Exec(txn, sql::kApplicationHeadOfCampaign, campaign_id);
    result->campaign_locked = true;
    if (head.empty()) return;
    only_application = result->isolated_application = head[0][0].as<int64_t>();
  }
  DecideLocked(txn, batch_size, only_application, result);
}

// Step 0, in a transaction of its own: the open uncapped campaigns among
// `notified`, in id order, up to batch_size decisions in all. Throws like
// Exec; result->campaign_id is then the campaign being decided, as it is
// when result->status says one was closed meanwhile.
void DecideNotifiedIn(db::Connection& connection, std::vector<int64_t> notified, int batch_size,
                      BatchResult* result) {
  std::sort(notified.begin(), notified.end());  // the counters' lock order
  notified.erase(std::unique(notified.begin(), notified.end()), notified.end());
  ReadCommittedTransaction txn(connection);
  result->campaign_locked = result->uncapped = true;
  std::vector<int64_t> undecided;
  Exec(txn, sql::kQueueSetCounterLockTimeout);
  for (int64_t campaign : notified) {
    const int budget = batch_size - static_cast<int>(result->decisions.size());
    if (budget <= 0) break;          // a full batch: the worker claims again anyway
    result->campaign_id = campaign;  // until known, as in step 1a
    BatchResult one;
    if (DecideUncapped(txn, {campaign}, budget, &one)) {
      if (!one.status.ok()) {
        result->status = one.status;
        return;  // rolls back
      }
      result->campaign_ids.push_back(campaign);
      result->decisions.insert(result->decisions.end(), one.decisions.begin(), one.decisions.end());
    } else {
      undecided.push_back(campaign);
    }
  }
  for (int64_t campaign : undecided) {
    if (!Exec(txn, sql::kQueueNotifiedNeedsLock, campaign).empty()) {
      result->needs_lock.push_back(campaign);  // steps 1-3 must claim it
    }
  }
  result->notified_only = result->needs_lock.empty();
  if (result->decisions.empty()) {
    txn.abort();
    std::vector<int64_t> needs_lock = std::move(result->needs_lock);
    *result = BatchResult();
    result->notified_only = needs_lock.empty();
    result->needs_lock = std::move(needs_lock);
    return;
  }
  result->campaign_id = result->campaign_ids.front();
  txn.commit();
}

// After COMMIT: wakes watchers, one notification per campaign decided. A
// hint (watchers re-read on a timeout too), so a failure here is ignored;
// a broken connection shows in the next batch.
void NotifyDecided(db::Connection& connection, const std::vector<int64_t>& campaigns) {
  // One round trip: the statement in its own implicit transaction, which it
  // makes asynchronous (set_config(..., true)): a hint needs no WAL flush.
  const std::string ids = db::BigintArrayLiteral(campaigns);
  try {
    pqxx::nontransaction txn(connection);
    if (connection.pooler_safe()) {
      txn.exec_params(sql::StatementText(sql::kQueueNotifyDecidedAfterCommit), ids);
    } else {
      txn.exec_prepared(sql::kQueueNotifyDecidedAfterCommit.name, ids);
    }
  } catch (const std::exception&) {
  }
}

// Every entry point: one batch, timed, with libpqxx's exceptions turned into
// BatchResult::status at this one boundary, and the watchers woken after a
// COMMIT that decided something.
template <typename Batch>
BatchResult RunBatch(db::Connection& connection, Batch batch) {
  BatchResult result;
  const auto start = std::chrono::steady_clock::now();
  try {
    batch(&result);
  } catch (const std::exception& error) {
    result.status = db::StatusFromException(error);
  }
  if (!result.status.ok()) {
    // Rolled back: nothing of it happened.
    result.decisions.clear();
    result.expired.clear();
    result.seats_passed_on.clear();
    result.next_expiry_micros.reset();
  }
  result.transaction_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (result.status.ok()) {
    // One per campaign: both lists are by campaign.
    std::vector<int64_t> campaigns;
    for (const Decision& decision : result.decisions) {
      if (campaigns.empty() || campaigns.back() != decision.campaign_id) {
        campaigns.push_back(decision.campaign_id);
      }
    }
    for (const Expiry& expiry : result.expired) {
      if (campaigns.empty() || campaigns.back() != expiry.campaign_id) {
        campaigns.push_back(expiry.campaign_id);
      }
    }
    if (!campaigns.empty()) NotifyDecided(connection, campaigns);
  }
  return result;
}

// The expiry batch (ClaimProtocol::ExpireDueHolds), in one transaction.
void ExpireDueHoldsIn(db::Connection& connection, int batch_size, BatchResult* result) {
  ReadCommittedTransaction txn(connection);
  for (const auto& row : Exec(txn, sql::kQueueClaimDueHolds, batch_size)) {
    result->campaign_ids.push_back(row[0].as<int64_t>());
  }
  if (!result->campaign_ids.empty()) {
    result->campaign_id = result->campaign_ids.front();
    result->campaign_locked = true;
    for (const auto& row : Exec(txn, sql::kApplicationExpireDueHolds,
                                db::BigintArrayLiteral(result->campaign_ids), batch_size)) {
      result->expired.push_back({row[0].as<int64_t>(), row[1].as<int64_t>(), row[2].as<int64_t>()});
    }
    // Each campaign's seats back at once: the fill rule ranks the line once
    // for all of them.
    for (size_t i = 0; i < result->expired.size();) {
      const int64_t campaign = result->expired[i].campaign_id;
      int seats = 0;
      for (; i < result->expired.size() && result->expired[i].campaign_id == campaign; ++i) ++seats;
      for (const auto& row : Exec(txn, sql::kApplicationFillFreeSeats, campaign, 0, -seats)) {
        result->seats_passed_on.push_back(row[0].as<int64_t>());
      }
    }
  }
  const pqxx::result next = Exec(txn, sql::kQueueNextHoldExpiry);
  if (!next.empty()) result->next_expiry_micros = next[0][0].as<int64_t>();
  txn.commit();
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

BatchResult ClaimProtocol::DecideNotified(std::vector<int64_t> campaigns, int batch_size) {
  return RunBatch(connection_, [&](BatchResult* result) {
    DecideNotifiedIn(connection_, std::move(campaigns), batch_size, result);
  });
}

BatchResult ClaimProtocol::DecideByWindow(const WindowClaim& claim) {
  return RunBatch(connection_, [&](BatchResult* result) {
    WindowClaim attempt = claim;
    // A second pass when the fairest campaigns were uncapped and all their
    // pending rows were held by other workers: those left out, in a new
    // transaction (the lock_timeout must not outlive the first).
    for (int pass = 0; pass < 2; ++pass) {
      ReadCommittedTransaction txn(connection_);
      const WindowPick candidates = ReadCandidates(txn, attempt, *window_);
      if (candidates.leading_uncapped.empty()) {
        result->campaign_ids = LockCandidates(txn, attempt, candidates);
        if (result->campaign_ids.empty()) return;  // nothing to do; rolls back
        DecideLocked(txn, attempt.batch_size, 0, result);
        return;
      }
      result->campaign_id = candidates.leading_uncapped.front();  // until known
      result->campaign_locked = result->uncapped = true;
      Exec(txn, sql::kQueueSetCounterLockTimeout);
      if (DecideUncapped(txn, candidates.leading_uncapped, attempt.batch_size, result)) {
        if (result->status.ok()) txn.commit();  // else rolls back
        return;
      }
      txn.abort();
      for (int64_t id : candidates.leading_uncapped) attempt.excluded_campaigns.push_back(id);
      *result = BatchResult();
    }
  });
}

BatchResult ClaimProtocol::DecideFairestNowait(int batch_size,
                                               const std::vector<int64_t>& excluded) {
  return RunBatch(connection_, [&](BatchResult* result) {
    DecideFairest(connection_, /*nowait=*/true, batch_size, excluded, result);
  });
}

BatchResult ClaimProtocol::DecideFairestBlocking(int batch_size,
                                                 const std::vector<int64_t>& excluded) {
  return RunBatch(connection_, [&](BatchResult* result) {
    DecideFairest(connection_, /*nowait=*/false, batch_size, excluded, result);
  });
}

BatchResult ClaimProtocol::DecideCampaign(int64_t campaign_id, int batch_size) {
  return RunBatch(connection_, [&](BatchResult* result) {
    DecideOne(connection_, campaign_id, batch_size, /*isolate_head=*/false, result);
  });
}

BatchResult ClaimProtocol::DecideIsolatedHead(int64_t campaign_id) {
  return RunBatch(connection_, [&](BatchResult* result) {
    DecideOne(connection_, campaign_id, 1, /*isolate_head=*/true, result);
  });
}

BatchResult ClaimProtocol::ExpireDueHolds(int batch_size) {
  return RunBatch(connection_,
                  [&](BatchResult* result) { ExpireDueHoldsIn(connection_, batch_size, result); });
}

void ClaimProtocol::DiscardCachedPlans() {
  if (connection_.pooler_safe()) return;
  try {
    pqxx::nontransaction txn(connection_);
    txn.exec(sql::StatementText(sql::kSessionDiscardPlans));
  } catch (const std::exception&) {
  }
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
