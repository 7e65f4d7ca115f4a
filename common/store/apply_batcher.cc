#include "common/store/apply_batcher.h"

#include <algorithm>
#include <pqxx/pqxx>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/db/pg_status.h"
#include "common/db/transaction.h"
#include "common/store/apply_outcome.h"
#include "common/store/rows.h"
#include "statements.h"

namespace campaignq::store {
namespace {

// How far past its deadline a batch's statement may run at most (see
// WriteTogether).
constexpr absl::Duration kStatementSlack = absl::Milliseconds(5);

}  // namespace

ApplyBatcher::ApplyBatcher(db::ConnectionPool* pool, Options options)
    : pool_(pool), options_(options), notifier_(pool), queue_(options.max_queued) {}

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
                              Done done, std::string caller) {
  if (absl::Now() >= deadline) {
    done(db::DeadlineExceeded());
    return;
  }
  auto apply = std::make_unique<QueuedApply>();
  apply->campaign_id = campaign_id;
  apply->user_id = std::move(user_id);
  apply->caller = std::move(caller);
  apply->deadline = deadline;
  apply->done = std::move(done);
  bool wake_writer = false;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (absl::Status admitted = queue_.Admit(apply); !admitted.ok()) {
      lock.unlock();
      apply->done(std::move(admitted));
      return;
    }
    if (!started_) StartLocked();
    if (busy_writers_ < options_.max_writers) {
      wake_writer = true;
    } else if (deadline < expiry_wake_) {
      RescheduleExpiryLocked();
    }
  }
  // Under load every writer is busy and no one is woken: the next free
  // writer finds this Apply queued.
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
  std::vector<absl::StatusOr<v1::Application>> outcomes(applicants.size(),
                                                        absl::UnknownError("not answered"));
  ApplyBatch batch;
  for (size_t i = 0; i < applicants.size(); ++i) {
    auto apply = std::make_unique<QueuedApply>();
    apply->campaign_id = applicants[i].campaign_id;
    apply->user_id = applicants[i].user_id;
    apply->done = [&outcomes, i](absl::StatusOr<v1::Application> outcome) {
      outcomes[i] = std::move(outcome);
    };
    batch.push_back(std::move(apply));
  }
  Write(batch);
  Answer(batch);
  return outcomes;
}

void ApplyBatcher::WriteLoop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    work_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and everything queued is written
    ApplyBatch expired;
    queue_.TakeExpired(absl::Now(), db::DeadlineExceeded(), &expired);
    ApplyBatch batch = queue_.TakeBatch(static_cast<size_t>(std::max(1, options_.max_batch)));
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
    ApplyBatch heirs;
    if (!batch.empty()) {
      Write(batch);
      ApplyBatch twins;
      const absl::Time now = absl::Now();
      for (auto& apply : batch) {
        if (auto heir = SettleTwins(*apply, now, db::DeadlineExceeded(), &twins)) {
          heirs.push_back(std::move(heir));
        }
      }
      Answer(batch);
      Answer(twins);
    }
    lock.lock();
    // Heirs go back to the front: they were queued before anything queued
    // now, and their twin's write told them nothing.
    for (auto it = heirs.rbegin(); it != heirs.rend(); ++it) queue_.PutBack(std::move(*it));
    --busy_writers_;
  }
}

void ApplyBatcher::ExpireLoop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    ApplyBatch expired;
    queue_.TakeExpired(absl::Now(), db::DeadlineExceeded(), &expired);
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
  if (busy_writers_ < options_.max_writers) return absl::InfiniteFuture();
  return queue_.EarliestDeadline();
}

void ApplyBatcher::RescheduleExpiryLocked() {
  const absl::Time next = NextExpiryLocked();
  if (next < expiry_wake_) {
    expiry_wake_ = next;
    expiry_.notify_one();
  }
}

void ApplyBatcher::Answer(ApplyBatch& applies) {
  for (const auto& apply : applies) {
    if (apply->done == nullptr) continue;
    auto done = std::move(apply->done);
    apply->done = nullptr;
    done(std::move(apply->result));
  }
}

void ApplyBatcher::Write(ApplyBatch& batch) {
  while (!batch.empty()) {
    std::vector<QueuedApply*> applies;
    applies.reserve(batch.size());
    for (const auto& apply : batch) applies.push_back(apply.get());
    const absl::Time bound = BatchDeadline(batch);
    absl::Status status = WriteTogether(applies, bound);
    if (status.ok()) return;
    if (status.code() == absl::StatusCode::kDeadlineExceeded) {
      // The earliest deadline cut the write (nothing committed): those out
      // of time learn it now, the others are written again without them.
      ApplyBatch answered;
      SplitAtDeadline(batch, bound, absl::Now(), db::DeadlineExceeded(), &answered);
      Answer(answered);
      continue;
    }
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
    const bool per_apply_error =
        status.code() != absl::StatusCode::kUnknown &&
        (!db::IsTransient(status) || state == db::kSqlstateSerializationFailure ||
         state == db::kSqlstateDeadlockDetected);
    if (batch.size() == 1 || !per_apply_error) {
      for (QueuedApply* apply : applies) apply->result = status;
      return;
    }
    for (QueuedApply* apply : applies) {
      // Each alone, within its own deadline (DEADLINE_EXCEEDED without a
      // write once it has passed).
      absl::Status alone = WriteTogether({apply}, apply->deadline);
      if (!alone.ok()) apply->result = alone;
    }
    return;
  }
}

absl::Status ApplyBatcher::WriteTogether(const std::vector<QueuedApply*>& batch,
                                         absl::Time deadline) {
  auto connection = pool_->Acquire(deadline);
  if (!connection.ok()) return connection.status();
  std::vector<int64_t> campaign_ids;
  std::vector<std::string> user_ids;
  campaign_ids.reserve(batch.size());
  user_ids.reserve(batch.size());
  for (const QueuedApply* apply : batch) {
    campaign_ids.push_back(apply->campaign_id);
    user_ids.push_back(apply->user_id);
  }
  const std::string campaigns_param = db::BigintArrayLiteral(campaign_ids);
  const std::string users_param = db::TextArrayLiteral(user_ids);
  absl::Status status =
      db::InTransaction(**connection, deadline, [&](db::ReadCommittedTransaction& txn) {
        // statement_timeout counts per statement, from the time left when it
        // was set: a statement that starts later could run past `deadline`
        // by as much. So set it again before a statement once that slack
        // exceeds kStatementSlack (rarely: a batch takes a few ms).
        absl::Time limited_at = absl::Now();
        auto bound = [&] {
          const absl::Time now = absl::Now();
          if (now >= deadline) return false;
          if (deadline != absl::InfiniteFuture() && now - limited_at > kStatementSlack) {
            db::LimitStatementsTo(txn, deadline);
            limited_at = now;
          }
          return true;
        };
        // The whole batch in one statement: one round trip, whatever its size.
        if (!bound()) return db::DeadlineExceeded();
        pqxx::result rows =
            db::Exec(txn, sql::kApplicationInsertBatch, campaigns_param, users_param);
        for (const auto& row : rows) {
          if (!bound()) return db::DeadlineExceeded();
          QueuedApply* apply = batch[row[0].as<size_t>() - 1];
          apply->result = ApplyOutcome(txn, apply->campaign_id, apply->user_id, row);
        }
        // COMMIT only in time: one that begins before the deadline ends
        // after it only by the WAL flush.
        if (!bound()) return db::DeadlineExceeded();
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
    for (const QueuedApply* apply : batch) {
      if (apply->result.ok()) campaigns.push_back(apply->campaign_id);
    }
    std::sort(campaigns.begin(), campaigns.end());
    campaigns.erase(std::unique(campaigns.begin(), campaigns.end()), campaigns.end());
    for (int64_t campaign : campaigns) notifier_.CampaignHasWork(campaign);
  }
  return status;
}

}  // namespace campaignq::store
