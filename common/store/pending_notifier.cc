#include "common/store/pending_notifier.h"

#include <exception>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/db/pg_status.h"
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
      // One round trip: the statement in its own implicit transaction (no
      // BEGIN, no COMMIT), which it makes asynchronous. At 500 Applies/s
      // nearly every Apply gets a notification of its own, so the two round
      // trips saved are a good part of the Apply's PostgreSQL CPU
      // (docs/performance-w3.md).
      const std::string ids = db::BigintArrayLiteral(campaigns);
      try {
        pqxx::nontransaction txn(**connection);
        if ((*connection)->pooler_safe()) {
          txn.exec_params(sql::StatementText(sql::kQueueNotifyPending), ids);
        } else {
          txn.exec_prepared(sql::kQueueNotifyPending.name, ids);
        }
      } catch (const std::exception& error) {
        status = db::StatusFromException(error);
      }
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
