#include "worker/worker_process.h"

#include <cstdio>

#include "common/db/startup.h"
#include "common/flags.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/metrics/http_exporter.h"
#include "common/shutdown.h"

namespace campaignq::worker {

int WorkerProcess::Run() {
  const absl::Status schema = db::PrepareSchema(options_.database_url, options_.connect,
                                                migrate_mode_);
  if (schema.code() == absl::StatusCode::kCancelled) return 0;  // stopped while waiting
  if (!schema.ok()) {
    LogError("worker", "schema: ", schema.message());
    return kExitUsage;
  }
  metrics::Registry registry;
  WorkerMetrics metrics(&registry);
  metrics::HttpExporter exporter(&registry);
  if (!metrics_listen_.empty()) {
    absl::StatusOr<int> port = exporter.Start(metrics_listen_);
    if (!port.ok()) {
      LogError("worker", port.status().message());
      return 1;
    }
    const std::string address =
        absl::StrCat(metrics_listen_.substr(0, metrics_listen_.rfind(':')), ":", *port);
    LogInfo("worker", "metrics on http://", address, "/metrics");
    std::printf("campaignq-worker metrics on %s\n", address.c_str());
  }
  WorkerPool pool(options_, &metrics);
  pool.Start();
  LogInfo("worker", "started: concurrency=", options_.concurrency, " batch_size=",
          options_.batch_size, " lock_mode=", queue::LockModeName(options_.lock_mode));
  std::printf("campaignq-worker ready\n");
  std::fflush(stdout);
  const int signal_number = WaitForTerminationSignal();
  LogInfo("worker", "signal ", signal_number, ": finishing current batches");
  pool.Stop();
  exporter.Stop();
  LogInfo("worker", "stopped: batches=", metrics.batches(), " approved=",
          metrics.decided("approved"), " waitlisted=", metrics.decided("waitlisted"),
          " rejected=", metrics.decided("rejected"), " failed=", metrics.failed(),
          " retries=", metrics.retries());
  return 0;
}

}  // namespace campaignq::worker
