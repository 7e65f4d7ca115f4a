#include "server/health_monitor.h"

#include <utility>

#include "common/log.h"

namespace campaignq::server {

HealthMonitor::HealthMonitor(grpc::HealthCheckServiceInterface* health,
                             std::function<absl::Status()> ping, std::vector<std::string> services,
                             std::chrono::milliseconds interval)
    : health_(health),
      ping_(std::move(ping)),
      services_(std::move(services)),
      interval_(interval) {}

HealthMonitor::~HealthMonitor() { Stop(); }

void HealthMonitor::Start() {
  Check();
  thread_ = std::thread([this] { Run(); });
}

void HealthMonitor::SetDraining() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (draining_) return;
  draining_ = true;
  SetServing(false);
  LogInfo("health", "draining: NOT_SERVING");
}

void HealthMonitor::Stop() {
  std::call_once(stop_once_, [this] {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  });
}

void HealthMonitor::Run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!wake_.wait_for(lock, interval_, [this] { return stopping_; })) {
    lock.unlock();  // a ping can take a connect timeout; never under the lock
    Check();
    lock.lock();
  }
}

void HealthMonitor::Check() {
  const absl::Status status = ping_();
  std::lock_guard<std::mutex> lock(mutex_);
  // Draining wins over a ping that started before SetDraining().
  if (draining_) return;
  const bool serving = status.ok();
  if (serving_ == static_cast<int>(serving)) return;
  if (serving) {
    LogInfo("health", "database reachable: SERVING");
  } else {
    LogWarning("health", "database unreachable: NOT_SERVING: ", status.ToString());
  }
  SetServing(serving);
}

bool HealthMonitor::serving() {
  std::lock_guard<std::mutex> lock(mutex_);
  return serving_ == 1;
}

void HealthMonitor::SetServing(bool serving) {
  serving_ = serving ? 1 : 0;
  for (const std::string& service : services_) health_->SetServingStatus(service, serving);
}

}  // namespace campaignq::server
