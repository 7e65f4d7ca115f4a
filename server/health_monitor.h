#pragma once
// Keeps grpc.health.v1 truthful: SERVING only while the database answers
// and the server is not draining. A load balancer or an orchestrator then
// routes around a server whose database is gone instead of sending it calls
// that can only fail with UNAVAILABLE.

#include <grpcpp/health_check_service_interface.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"

namespace campaignq::server {

class HealthMonitor {
 public:
  // `ping` is one database round trip (CampaignStore::Ping); `services` the
  // health service names to keep in sync ("" is the whole server).
  HealthMonitor(grpc::HealthCheckServiceInterface* health, std::function<absl::Status()> ping,
                std::vector<std::string> services,
                std::chrono::milliseconds interval = std::chrono::seconds(1));
  HealthMonitor(const HealthMonitor&) = delete;
  HealthMonitor& operator=(const HealthMonitor&) = delete;
  ~HealthMonitor();  // Stop()s.

  // Pings once (so the status is right before the server is announced),
  // then keeps pinging in the background.
  void Start();
  // NOT_SERVING from now on, whatever the database says: the server is
  // shutting down and clients should go elsewhere.
  void SetDraining();
  // Ends the background loop. Idempotent.
  void Stop();
  // What grpc.health.v1 says now (false before the first check): the
  // campaignq_health_serving gauge, so alerts see it without a gRPC probe.
  bool serving();

 private:
  void Run();
  void Check();
  void SetServing(bool serving) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  grpc::HealthCheckServiceInterface* const health_;
  const std::function<absl::Status()> ping_;
  const std::vector<std::string> services_;
  const std::chrono::milliseconds interval_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  bool draining_ ABSL_GUARDED_BY(mutex_) = false;
  // The status last published; unknown until the first check.
  int serving_ ABSL_GUARDED_BY(mutex_) = -1;
  std::once_flag stop_once_;
  std::thread thread_;
};

}  // namespace campaignq::server
