#include "common/store/apply_batcher.h"

#include <algorithm>
#include <optional>
#include <pqxx/pqxx>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
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

ApplyBatcher::~ApplyBatcher() {
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    threads.swap(threads_);
  }
  work_.notify_all();
  expiry_.notify_all();
  // The writers write what is still queued before they return.
  for (std::thread& thread : threads) thread.join();
}

void ApplyBatcher::StartLocked() {
  started_ = true;
  for (int i = 0; i < options_.max_writers; ++i) threads_.emplace_back([this] { WriteLoop(); });
  threads_.emplace_back([this] { ExpireLoop(); });
}

void ApplyBatcher::ApplyAsync(int64_t campaign_id, std::string user_id, absl::Time deadline,
                              Done done) {
  if (absl::Now() >= deadline) {
    done(db::DeadlineExceeded());
    return;
  }
  auto request = std::make_unique<Request>(
      Request{campaign_id, std::move(user_id), deadline, std::move(done)});
  bool wake_writer = false;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (static_cast<int>(queue_.size()) >= options_.max_queued) {
      lock.unlock();
      request->done(absl::ResourceExhaustedError(
          absl::StrCat("the server has ", options_.max_queued,
                       " Applies waiting to be written; retry in a moment")));
      return;
    }
    if (!started_) StartLocked();
    queue_.push_back(std::move(request));
    if (busy_writers_ < options_.max_writers) {
      wake_writer = true;
    } else if (deadline < expiry_wake_) {
      RescheduleExpiryLocked();
    }
  }
  // Under load every writer is busy and no one is woken: the next free
  // writer finds this request queued.
  if (wake_writer) work_.notify_one();
}

absl::StatusOr<v1::Application> ApplyBatcher::Apply(int64_t campaign_id, std::string user_id,
                                                    absl::Time deadline) {
  struct Outcome {
    std::mutex mutex;
    std::condition_variable done;
    bool answered = false;
    absl::StatusOr<v1::Application> result;
  } outcome;
  ApplyAsync(campaign_id, std::move(user_id), deadline,
             [&outcome](absl::StatusOr<v1::Application> result) {
               // Notified under the lock: `outcome` lives until Apply returns,
               // which it cannot before this unlocks.
               std::lock_guard<std::mutex> lock(outcome.mutex);
               outcome.result = std::move(result);
               outcome.answered = true;
               outcome.done.notify_one();
             });
  std::unique_lock<std::mutex> lock(outcome.mutex);
  outcome.done.wait(lock, [&outcome] { return outcome.answered; });
  return std::move(outcome.result);
}

std::vector<absl::StatusOr<v1::Application>> ApplyBatcher::ApplyTogether(
    const std::vector<Applicant>& applicants) {
  std::vector<Request> requests;
  requests.reserve(applicants.size());
  for (const Applicant& applicant : applicants) {
    requests.push_back(
        Request{applicant.campaign_id, applicant.user_id, absl::InfiniteFuture(), nullptr});
  }
  std::vector<Request*> batch;
  for (Request& request : requests) batch.push_back(&request);
  Write(batch);
  std::vector<absl::StatusOr<v1::Application>> outcomes;
  for (Request& request : requests) outcomes.push_back(std::move(request.result));
  return outcomes;
}

void ApplyBatcher::WriteLoop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    work_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and everything queued is written
    Batch expired;
    TakeExpiredLocked(absl::Now(), &expired);
    Batch batch = TakeBatchLocked();
    ++busy_writers_;
    if (!queue_.empty()) {
      // More than one batch is queued: a free writer takes the rest; with
      // none free, it waits for the next batch and may expire there.
      if (busy_writers_ < options_.max_writers) {
        work_.notify_one();
      } else {
        RescheduleExpiryLocked();
      }
    }
    lock.unlock();
    Answer(expired);
    if (!batch.empty()) {
      std::vector<Request*> requests;
      requests.reserve(batch.size());
      for (const auto& request : batch) requests.push_back(request.get());
      Write(requests);
      Answer(batch);
    }
    lock.lock();
    --busy_writers_;
  }
}

void ApplyBatcher::ExpireLoop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    Batch expired;
    TakeExpiredLocked(absl::Now(), &expired);
    if (!expired.empty()) {
      lock.unlock();
      Answer(expired);
      lock.lock();
      continue;
    }
    expiry_wake_ = NextExpiryLocked();
    if (expiry_wake_ == absl::InfiniteFuture()) {
      expiry_.wait(lock);
    } else {
      expiry_.wait_until(lock, absl::ToChronoTime(expiry_wake_));
    }
  }
}

absl::Time ApplyBatcher::NextExpiryLocked() const {
  absl::Time earliest = absl::InfiniteFuture();
  if (busy_writers_ < options_.max_writers) return earliest;
  for (const auto& request : queue_) earliest = std::min(earliest, request->deadline);
  return earliest;
}

void ApplyBatcher::RescheduleExpiryLocked() {
  const absl::Time next = NextExpiryLocked();
  if (next < expiry_wake_) {
    expiry_wake_ = next;
    expiry_.notify_one();
  }
}

void ApplyBatcher::TakeExpiredLocked(absl::Time now, Batch* expired) {
  for (auto it = queue_.begin(); it != queue_.end();) {
    if ((*it)->deadline <= now) {
      (*it)->result = db::DeadlineExceeded();
      expired->push_back(std::move(*it));
      it = queue_.erase(it);
    } else {
      ++it;
    }
  }
}

ApplyBatcher::Batch ApplyBatcher::TakeBatchLocked() {
  Batch batch;
  absl::flat_hash_set<std::pair<int64_t, absl::string_view>> keys;
  const size_t max_batch = static_cast<size_t>(std::max(1, options_.max_batch));
  const size_t expected = std::min(queue_.size(), max_batch);
  batch.reserve(expected);
  keys.reserve(expected);
  for (auto it = queue_.begin(); it != queue_.end() && batch.size() < max_batch;) {
    // The key's string_view points into the request, which the batch keeps.
    if (keys.insert({(*it)->campaign_id, (*it)->user_id}).second) {
      batch.push_back(std::move(*it));
      it = queue_.erase(it);
    } else {
      ++it;  // a repeat of a key in this batch: next batch, where it sees the first
    }
  }
  return batch;
}

void ApplyBatcher::Answer(Batch& requests) {
  for (const auto& request : requests) request->done(std::move(request->result));
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
  std::vector<std::optional<std::string>> params(2 * kSlotsPerStatement);
  absl::Status status =
      db::InTransaction(**connection, deadline, [&](db::ReadCommittedTransaction& txn) {
        for (size_t first = 0; first < batch.size(); first += kSlotsPerStatement) {
          for (size_t slot = 0; slot < kSlotsPerStatement; ++slot) {
            const size_t i = first + slot;
            if (i < batch.size()) {
              params[2 * slot] = std::to_string(batch[i]->campaign_id);
              params[2 * slot + 1] = batch[i]->user_id;
            } else {
              params[2 * slot].reset();
              params[2 * slot + 1].reset();
            }
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
    // Committed: now wake the workers (a side effect after commit), once
    // per campaign of the batch.
    std::vector<int64_t> campaigns;
    campaigns.reserve(batch.size());
    for (const Request* request : batch) {
      if (request->result.ok()) campaigns.push_back(request->campaign_id);
    }
    std::sort(campaigns.begin(), campaigns.end());
    campaigns.erase(std::unique(campaigns.begin(), campaigns.end()), campaigns.end());
    for (int64_t campaign : campaigns) notifier_.CampaignHasWork(campaign);
  }
  return status;
}

}  // namespace campaignq::store
