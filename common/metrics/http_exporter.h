#pragma once
// Serves a Registry's metrics over HTTP (GET /metrics) for Prometheus, and
// the process's health checks (GET /livez, /readyz) for orchestrators.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/metrics/metrics.h"

namespace httplib {
class Server;
}

namespace campaignq::metrics {

class HttpExporter {
 public:
  explicit HttpExporter(Registry* registry);  // registry must outlive this
  ~HttpExporter();                            // Stop()s
  HttpExporter(const HttpExporter&) = delete;
  HttpExporter& operator=(const HttpExporter&) = delete;

  // GET `path` answers 200 "ok" while `check` returns OK and 503 with the
  // status message otherwise. Call before Start(); `check` runs on the
  // HTTP thread and must be quick and thread-safe.
  void AddCheck(const std::string& path, std::function<absl::Status()> check);

  // Listens on "host:port" (port 0: any free one) and serves in a thread.
  // Returns the bound port; INVALID_ARGUMENT for a malformed address,
  // UNAVAILABLE when it cannot bind.
  absl::StatusOr<int> Start(const std::string& listen);
  void Stop();  // idempotent

 private:
  Registry* registry_;
  std::map<std::string, std::function<absl::Status()>> checks_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

}  // namespace campaignq::metrics
