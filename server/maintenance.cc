#include "server/maintenance.h"

#include <algorithm>

#include "common/log.h"

namespace campaignq::server {
namespace {

constexpr char kComponent[] = "maintenance";
// Never spin: even a close due "now" waits this long between ticks.
constexpr std::chrono::milliseconds kMinInterval(10);

}  // namespace

MaintenanceLoop::MaintenanceLoop(store::CampaignStore* store, MaintenanceOptions options)
    : store_(store), options_(options) {}

MaintenanceLoop::~MaintenanceLoop() { Stop(); }

void MaintenanceLoop::Start() {
  std::call_once(start_once_, [this] { thread_ = std::thread([this] { Run(); }); });
}

void MaintenanceLoop::Stop() {
  std::call_once(stop_once_, [this] {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  });
}

std::chrono::milliseconds MaintenanceLoop::NextWait(
    const store::CampaignStore::MaintenanceReport& report) const {
  // More may be due or purgeable right away: go again without waiting.
  if (report.closed_campaigns > 0 || report.purged_applications > 0 ||
      report.announced_openings > 0) {
    return kMinInterval;
  }
  std::chrono::milliseconds wait = options_.max_interval;
  for (const auto& next : {report.next_close_in, report.next_opening_in}) {
    if (!next) continue;
    wait = std::min(wait, std::chrono::duration_cast<std::chrono::milliseconds>(
                              *next + std::chrono::milliseconds(1)));
  }
  return std::max(wait, kMinInterval);
}

void MaintenanceLoop::Run() {
  bool was_leader = false;
  for (;;) {
    std::chrono::milliseconds wait = options_.max_interval;
    absl::StatusOr<store::CampaignStore::MaintenanceReport> report =
        store_->RunMaintenanceTick(options_.retain_decided);
    if (report.ok()) {
      leader_.store(report->leader, std::memory_order_relaxed);
      if (report->leader != was_leader) {
        LogInfo(kComponent, report->leader ? "this server now leads maintenance"
                                           : "another server leads maintenance");
        was_leader = report->leader;
      }
      closed_.fetch_add(report->closed_campaigns, std::memory_order_relaxed);
      purged_.fetch_add(report->purged_applications, std::memory_order_relaxed);
      if (report->closed_campaigns > 0) {
        LogInfo(kComponent, "closed ", report->closed_campaigns, " campaigns at their closes_at");
      }
      wait = NextWait(*report);
    } else {
      LogWarning(kComponent, "tick failed, retrying in ", options_.max_interval.count(),
                 " ms: ", report.status().ToString());
    }
    std::unique_lock<std::mutex> lock(mutex_);
    if (wake_.wait_for(lock, wait, [this] { return stopping_; })) return;
  }
}

}  // namespace campaignq::server
