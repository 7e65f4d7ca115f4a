#include "worker/worker_stack.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/metrics/http_exporter.h"
#include "common/metrics/metrics.h"
#include "common/metrics/process_metrics.h"
#include "common/store/worker_heartbeat.h"
#include "worker/worker_metrics.h"

namespace campaignq::worker {
namespace {

constexpr char kComponent[] = "worker";
// Longer than any wait a healthy thread chooses (poll interval, reconnect
// back-off, a batch under the worker role's 30 s statement_timeout).
constexpr std::chrono::seconds kMaxSilence(90);

WorkerStackOptions Normalized(WorkerStackOptions options) {
  options.pool.database_url = options.process.database_url;
  options.pool.connect = options.process.ConnectAs(options.pool.connect.application_name);
  return options;
}

// The console's Workers page reads these beats (common/store/worker_heartbeat.h).
store::WorkerHeartbeatOptions HeartbeatFor(const WorkerOptions& options, WorkerMetrics* metrics) {
  store::WorkerHeartbeatOptions heartbeat;
  heartbeat.database_url = options.database_url;
  heartbeat.connect = options.connect;
  // Apart in pg_stat_activity, and from the "campaignq-worker" sessions that
  // fault tests pick by name prefix.
  heartbeat.connect.application_name = "campaignq-heartbeat";
  heartbeat.lock_mode = queue::LockModeName(options.lock_mode);
  heartbeat.threads = options.concurrency;
  heartbeat.totals = [metrics] {
    return store::WorkerTotals{metrics->decided("approved") + metrics->decided("waitlisted") +
                                   metrics->decided("rejected"),
                               metrics->failed() + metrics->retries()};
  };
  return heartbeat;
}

}  // namespace

// Members in construction order; destroyed in reverse, each after
// everything that uses it.
struct WorkerStack::Running {
  explicit Running(const WorkerOptions& options)
      : metrics(&registry),
        exporter(&registry),
        pool(options, &metrics),
        heartbeat(HeartbeatFor(options, &metrics)) {
    metrics::AddProcessMetrics(&registry);
    metrics::AddBuildInfo(&registry, "worker", CAMPAIGNQ_VERSION);
  }

  metrics::Registry registry;
  WorkerMetrics metrics;
  metrics::HttpExporter exporter;
  WorkerPool pool;
  store::WorkerHeartbeat heartbeat;
};

WorkerStack::WorkerStack(WorkerStackOptions options) : options_(Normalized(std::move(options))) {}

WorkerStack::~WorkerStack() { Stop(); }

absl::Status WorkerStack::Start() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (started_) return absl::FailedPreconditionError("the worker stack was started before");
  started_ = true;
  absl::Status status = StartLocked();
  if (!status.ok()) running_.reset();  // stops what did start
  return status;
}

absl::Status WorkerStack::StartLocked() {
  const WorkerOptions& pool = options_.pool;
  // "-migrate": a starting process, which a stop-first migration running
  // elsewhere does not count as one deciding (db::Migrate).
  db::ConnectOptions migrate_connect = pool.connect;
  migrate_connect.application_name += "-migrate";
  if (absl::Status schema = PrepareSchemaAtStart(options_.process, migrate_connect); !schema.ok()) {
    return schema;
  }
  running_ = std::make_unique<Running>(pool);
  const std::string& listen = options_.process.metrics_listen;
  if (!listen.empty()) {
    // Orchestrators probe these (deploy/k8s/worker.yaml): /livez fails only
    // for a thread stuck past any wait it would choose (a restart helps);
    // /readyz while no thread reaches the database (a restart would not).
    WorkerPool* workers = &running_->pool;
    running_->exporter.AddCheck("/livez", [workers] { return workers->Liveness(kMaxSilence); });
    running_->exporter.AddCheck("/readyz", [workers] { return workers->Readiness(); });
    absl::StatusOr<int> port = running_->exporter.Start(listen);
    if (!port.ok()) return port.status();
    metrics_address_ = BoundAddress(listen, *port);
    LogInfo(kComponent, "metrics on http://", metrics_address_, "/metrics");
  }
  running_->pool.Start();
  running_->heartbeat.Start();
  LogInfo(kComponent, "started: concurrency=", pool.concurrency, " batch_size=", pool.batch_size,
          " max_campaigns_per_batch=", pool.max_campaigns_per_batch,
          " lock_mode=", queue::LockModeName(pool.lock_mode));
  return absl::OkStatus();
}

void WorkerStack::Stop() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (running_ == nullptr) return;
  LogInfo(kComponent, "finishing current batches");
  running_->pool.Stop();
  running_->heartbeat.Stop();  // after the last batch: its beat says "stopped"
  running_->exporter.Stop();
  WorkerMetrics& m = running_->metrics;
  LogInfo(kComponent, "stopped: batches=", m.batches(), " approved=", m.decided("approved"),
          " waitlisted=", m.decided("waitlisted"), " rejected=", m.decided("rejected"),
          " failed=", m.failed(), " retries=", m.retries());
  running_.reset();
  metrics_address_.clear();
}

}  // namespace campaignq::worker
