#pragma once
// The server's maintenance loop: scheduled closes (closes_at) and retention
// (--retain-decided), done by exactly one process at a time however many
// servers run (CampaignStore::RunMaintenanceTick: a transaction-scoped
// advisory lock elects the leader of each tick).
//
// It ticks at least every `max_interval` (1 s: a campaign closes within a
// second of its closes_at), sooner when the next close is due sooner, and
// at once again while there is more to do. A failed tick (database down) is
// retried after `max_interval`: nothing here ever blocks the server.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "common/store/campaign_store.h"

namespace campaignq::server {

struct MaintenanceOptions {
  // Decided applications of campaigns closed longer than this are deleted;
  // zero keeps them forever.
  std::chrono::microseconds retain_decided{0};
  std::chrono::milliseconds max_interval{1000};
};

class MaintenanceLoop {
 public:
  // `store` must outlive the loop.
  MaintenanceLoop(store::CampaignStore* store, MaintenanceOptions options);
  MaintenanceLoop(const MaintenanceLoop&) = delete;
  MaintenanceLoop& operator=(const MaintenanceLoop&) = delete;
  ~MaintenanceLoop();  // Stop()s.

  void Start();
  void Stop();  // Idempotent; returns once the loop has ended.

  // Whether this process led the last tick that reached the database (kept
  // through an outage). The server exports the shared queue gauges only
  // while it leads, so that sum() over servers is right.
  bool leader() const { return leader_.load(std::memory_order_relaxed); }
  int64_t closed_campaigns() const { return closed_.load(std::memory_order_relaxed); }
  int64_t purged_applications() const { return purged_.load(std::memory_order_relaxed); }

 private:
  void Run();
  // How long to wait after a tick that reported `report`.
  std::chrono::milliseconds NextWait(const store::CampaignStore::MaintenanceReport& report) const;

  store::CampaignStore* const store_;
  const MaintenanceOptions options_;
  std::atomic<bool> leader_{false};
  std::atomic<int64_t> closed_{0}, purged_{0};

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::once_flag start_once_, stop_once_;
  std::thread thread_;
};

}  // namespace campaignq::server
