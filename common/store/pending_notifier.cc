#include "common/store/pending_notifier.h"

#include <vector>

#include "common/db/transaction.h"
#include "common/log.h"
#include "statements.h"

namespace campaignq::store {

PendingNotifier::PendingNotifier(db::ConnectionPool* pool)
    : pool_(pool), thread_([this] { Run(); }) {}

PendingNotifier::~PendingNotifier() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void PendingNotifier::CampaignHasWork(int64_t campaign_id) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queued_.insert(campaign_id);
  }
  changed_.notify_one();
}

void PendingNotifier::Run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    changed_.wait(lock, [this] { return stopping_ || !queued_.empty(); });
    if (queued_.empty()) return;  // stopping, nothing left to send
    std::vector<int64_t> campaigns(queued_.begin(), queued_.end());
    queued_.clear();
    lock.unlock();
    // Whatever arrives while this transaction runs is coalesced into the
    // next one.
    auto connection = pool_->Acquire();
    absl::Status status = connection.status();
    if (connection.ok()) {
      status = db::InTransaction(**connection, [&](db::ReadCommittedTransaction& txn) {
        db::Exec(txn, sql::kQueueNotifyPending, db::BigintArrayLiteral(campaigns));
        return absl::OkStatus();
      });
      if (status.code() == absl::StatusCode::kUnavailable) connection->Discard();
    }
    if (!status.ok()) {
      // Workers poll as well: a lost wake-up delays, never loses, a decision.
      LogWarning("notifier", "could not wake workers: ", status.message());
    }
    lock.lock();
  }
}

}  // namespace campaignq::store
