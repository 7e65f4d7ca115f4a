#pragma once
// Wakes idle workers after Applies commit, outside the Apply transactions.
//
// Why not NOTIFY inside each Apply transaction: PostgreSQL serialises the
// commits of all notifying transactions (a global lock held from pre-commit
// through the WAL flush), so every Apply batch would wait for the previous
// one's fsync and group commit would be lost. Here one thread sends the
// wake-ups, coalesced per campaign, in its own transaction with
// synchronous_commit off: a wake-up is a hint, not data (workers also poll).

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <set>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "common/db/pool.h"

namespace campaignq::store {

class PendingNotifier {
 public:
  // `pool` must outlive the notifier. Starts its thread.
  explicit PendingNotifier(db::ConnectionPool* pool);
  ~PendingNotifier();  // sends what is queued, then stops
  PendingNotifier(const PendingNotifier&) = delete;
  PendingNotifier& operator=(const PendingNotifier&) = delete;

  // Queues a NOTIFY campaignq_pending for the campaign; never blocks on the
  // database. Call after the application's transaction committed.
  void CampaignHasWork(int64_t campaign_id);

 private:
  void Run();

  db::ConnectionPool* const pool_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::set<int64_t> queued_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

}  // namespace campaignq::store
