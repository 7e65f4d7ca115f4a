#include "common/store/apply_batcher.h"

#include <algorithm>
#include <optional>
#include <pqxx/pqxx>
#include <set>
#include <utility>

#include "common/db/pg_status.h"
#include "common/db/transaction.h"
#include "common/store/apply_outcome.h"
#include "common/store/rows.h"
#include "statements.h"

namespace campaignq::store {
namespace {

// Slots of one ApplicationInsertBatch statement (sql/queries/applications.sql).
constexpr int kSlotsPerStatement = 16;

}  // namespace

ApplyBatcher::ApplyBatcher(db::ConnectionPool* pool, Options options)
    : pool_(pool), options_(options), notifier_(pool) {}

ApplyBatcher::~ApplyBatcher() = default;

absl::StatusOr<v1::Application> ApplyBatcher::Apply(int64_t campaign_id, const std::string& user_id,
                                                    absl::Time deadline) {
  if (absl::Now() >= deadline) return db::DeadlineExceeded();
  Request request(campaign_id, user_id, deadline);
  std::unique_lock<std::mutex> lock(mutex_);
  queue_.push_back(&request);
  // Leader/follower: whoever finds work queued and a writer slot free writes
  // the next batch (its own request or others'); everyone else sleeps on
  // its own condition variable until its batch is written or it is asked
  // to write the next one.
  while (!request.done) {
    if (!queue_.empty() && writers_ < options_.max_writers) {
      std::vector<Request*> batch = TakeBatch();
      ++writers_;
      lock.unlock();
      Write(batch);
      lock.lock();
      --writers_;
      for (Request* written : batch) {
        written->done = true;
        written->wake.notify_one();
      }
      // The slot is free again: hand the next batch to a queued caller.
      if (!queue_.empty()) queue_.front()->wake.notify_one();
    } else if (deadline == absl::InfiniteFuture() || request.taken) {
      request.wake.wait(lock);
    } else if (request.wake.wait_until(lock, absl::ToChronoTime(deadline)) ==
                   std::cv_status::timeout &&
               !request.taken) {
      // Still queued: leave, and hand a wake-up meant for this request (to
      // write the next batch) on to the next queued one.
      queue_.erase(std::find(queue_.begin(), queue_.end(), &request));
      if (!queue_.empty() && writers_ < options_.max_writers) queue_.front()->wake.notify_one();
      return db::DeadlineExceeded();
    }
  }
  return std::move(request.result);
}

std::vector<absl::StatusOr<v1::Application>> ApplyBatcher::ApplyTogether(
    const std::vector<Applicant>& applicants) {
  std::deque<Request> requests;  // Request is not movable (condition variable)
  for (const Applicant& applicant : applicants) {
    requests.emplace_back(applicant.campaign_id, applicant.user_id, absl::InfiniteFuture());
  }
  std::vector<Request*> batch;
  for (Request& request : requests) batch.push_back(&request);
  Write(batch);
  std::vector<absl::StatusOr<v1::Application>> outcomes;
  for (Request& request : requests) outcomes.push_back(std::move(request.result));
  return outcomes;
}

std::vector<ApplyBatcher::Request*> ApplyBatcher::TakeBatch() {
  std::vector<Request*> batch;
  std::set<std::pair<int64_t, std::string>> keys;
  for (auto it = queue_.begin();
       it != queue_.end() && static_cast<int>(batch.size()) < options_.max_batch;) {
    if (keys.insert({(*it)->campaign_id, (*it)->user_id}).second) {
      (*it)->taken = true;
      batch.push_back(*it);
      it = queue_.erase(it);
    } else {
      ++it;  // a repeat of a key in this batch: next batch, where it sees the first
    }
  }
  return batch;
}

void ApplyBatcher::Write(const std::vector<Request*>& batch) {
  absl::Status status = WriteTogether(batch);
  if (status.ok()) return;
  // Fall back to writing each Apply alone only when the batch is known not
  // to have committed AND the error may be about one Apply in it: a trigger
  // or constraint refusing one row, or a deadlock or serialization failure
  // with a concurrent batch over the same (campaign, user) keys. Then the
  // error reaches only the Apply that causes it. Never after UNKNOWN
  // (COMMIT's outcome lost: the rows may be there, and a rerun would answer
  // ALREADY_EXISTS or a false "not committed"), nor after a fault of the
  // database (connection lost, resource fault, statement or lock timeout):
  // every Apply would wait out the same fault one after another, so the
  // callers get it at once and retry.
  const std::string state = db::SqlState(status);
  // Nor after the batch's deadline (the latest of its Applies') passed:
  // every Apply's has.
  const bool per_apply_error =
      status.code() != absl::StatusCode::kUnknown &&
      status.code() != absl::StatusCode::kDeadlineExceeded &&
      (!db::IsTransient(status) || state == db::kSqlstateSerializationFailure ||
       state == db::kSqlstateDeadlockDetected);
  if (batch.size() == 1 || !per_apply_error) {
    for (Request* request : batch) request->result = status;
    return;
  }
  for (Request* request : batch) Write({request});
}

absl::Status ApplyBatcher::WriteTogether(const std::vector<Request*>& batch) {
  absl::Time deadline = absl::InfinitePast();
  for (const Request* request : batch) deadline = std::max(deadline, request->deadline);
  auto connection = pool_->Acquire(deadline);
  if (!connection.ok()) return connection.status();
  absl::Status status =
      db::InTransaction(**connection, deadline, [&](db::ReadCommittedTransaction& txn) {
        for (size_t first = 0; first < batch.size(); first += kSlotsPerStatement) {
          std::vector<std::optional<std::string>> params(2 * kSlotsPerStatement);
          for (size_t i = first; i < batch.size() && i < first + kSlotsPerStatement; ++i) {
            params[2 * (i - first)] = std::to_string(batch[i]->campaign_id);
            params[2 * (i - first) + 1] = batch[i]->user_id;
          }
          pqxx::result rows = db::Exec(txn, sql::kApplicationInsertBatch,
                                       pqxx::prepare::make_dynamic_params(params));
          for (const auto& row : rows) {
            Request* request = batch[first + row[0].as<size_t>() - 1];
            request->result = ApplyOutcome(txn, request->campaign_id, request->user_id, row);
          }
        }
        return absl::OkStatus();
      });
  if (status.code() == absl::StatusCode::kUnavailable ||
      status.code() == absl::StatusCode::kUnknown) {
    connection->Discard();
  }
  if (status.ok()) {
    // Committed: now wake the workers (a side effect after commit).
    for (const Request* request : batch) {
      if (request->result.ok()) notifier_.CampaignHasWork(request->campaign_id);
    }
  }
  return status;
}

}  // namespace campaignq::store
