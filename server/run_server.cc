#include "server/run_server.h"

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/db/pool.h"
#include "common/db/transaction.h"
#include "common/db/startup.h"
#include "common/log.h"
#include "common/metrics/http_exporter.h"
#include "common/shutdown.h"
#include "common/store/campaign_store.h"
#include "server/campaign_queue_service.h"
#include "server/decision_listener.h"
#include "server/health_monitor.h"
#include "server/server_setup.h"

namespace campaignq::server {
namespace {

constexpr char kComponent[] = "server";

// "host:0" with the port actually bound.
std::string AnnouncedAddress(const std::string& listen, int port) {
  return absl::StrCat(listen.substr(0, listen.rfind(':')), ":", port);
}

db::PoolOptions PoolFor(const ServerOptions& options, const char* application_name,
                        int max_connections, std::chrono::milliseconds acquire_timeout) {
  db::PoolOptions pool;
  pool.url = options.database_url;
  pool.connect.application_name = application_name;
  pool.connect.pooler_safe = options.pooler_mode;
  pool.max_connections = max_connections;
  pool.acquire_timeout = acquire_timeout;
  return pool;
}

}  // namespace

int RunServer(const ServerOptions& options) {
  LogInfo(kComponent, "starting: listen=", options.listen, " pool_size=", options.pool_size,
          " max_threads=", options.max_threads);
  db::ConnectOptions migrate_connect;
  migrate_connect.application_name = "campaignq-server-migrate";
  migrate_connect.pooler_safe = options.pooler_mode;
  if (absl::Status status = db::PrepareSchema(options.database_url, migrate_connect, options.migrate);
      !status.ok()) {
    if (status.code() == absl::StatusCode::kCancelled) {
      LogInfo(kComponent, "stopped before the database was ready");
      return kExitOk;
    }
    LogError(kComponent, "cannot use the database: ", status.ToString());
    std::fprintf(stderr, "campaignq-server: %s\n", std::string(status.message()).c_str());
    return kExitUsage;
  }
  LogInfo(kComponent, "database schema ready");
  if (options.migrate_only) return kExitOk;

  db::ConnectionPool pool(
      PoolFor(options, "campaignq-server", options.pool_size, std::chrono::milliseconds(5000)));
  store::CampaignStore store(&pool);
  // Health pings get their own single connection: through the request pool
  // a burst of slow calls would hold every connection and the server would
  // report NOT_SERVING for being busy, not for losing its database.
  db::ConnectionPool health_pool(
      PoolFor(options, "campaignq-server-health", 1, std::chrono::milliseconds(2000)));
  store::CampaignStore health_store(&health_pool);

  DecisionListenerOptions listener_options;
  listener_options.database_url = options.database_url;
  listener_options.connect.application_name = "campaignq-server-listener";
  DecisionListener listener(listener_options);
  // LISTEN cannot work through a transaction pooler; watches then fall
  // back to re-reading every kWatchFallbackInterval.
  if (!options.pooler_mode) listener.Start();

  metrics::Registry registry;
  // Queue gauges read through the health connection: a scrape must not
  // wait behind request traffic for a pooled connection.
  registry.AddGauge("campaignq_queue_pending", "applications waiting for a decision",
                    [&health_store](double* value) {
                      auto depth = health_store.GetQueueDepth();
                      if (depth.ok()) *value = static_cast<double>(depth->pending);
                      return depth.ok();
                    });
  registry.AddGauge("campaignq_queue_oldest_pending_age_seconds",
                    "age of the oldest pending application", [&health_store](double* value) {
                      auto depth = health_store.GetQueueDepth();
                      if (depth.ok()) *value = depth->oldest_pending_age_seconds;
                      return depth.ok();
                    });
  metrics::HttpExporter exporter(&registry);
  if (!options.metrics_listen.empty()) {
    absl::StatusOr<int> metrics_port = exporter.Start(options.metrics_listen);
    if (!metrics_port.ok()) {
      LogError(kComponent, metrics_port.status().message());
      listener.Stop();
      return kExitFailure;
    }
    const std::string metrics_address = AnnouncedAddress(options.metrics_listen, *metrics_port);
    LogInfo(kComponent, "metrics on http://", metrics_address, "/metrics");
    std::printf("campaignq-server metrics on %s\n", metrics_address.c_str());
  }

  CampaignQueueService service(&store, &listener);
  ServerSetup setup;
  setup.listen = options.listen;
  setup.max_threads = options.max_threads;
  setup.metrics = &registry;
  int port = 0;
  std::unique_ptr<grpc::Server> server = BuildAndStartServer(setup, &service, &port);
  if (server == nullptr || port == 0) {
    LogError(kComponent, "cannot listen on ", options.listen);
    std::fprintf(stderr, "campaignq-server: cannot listen on %s\n", options.listen.c_str());
    listener.Stop();
    if (server != nullptr) server->Shutdown();
    return kExitFailure;
  }
  HealthMonitor health(server->GetHealthCheckService(),
                       [&health_store] { return health_store.Ping(); }, {"", kServiceName});
  health.Start();

  const std::string address = AnnouncedAddress(options.listen, port);
  LogInfo(kComponent, "listening on ", address);
  // Tests and scripts read this line to learn the port (--listen=...:0).
  std::printf("campaignq-server listening on %s\n", address.c_str());
  std::fflush(stdout);

  const int signal_number = WaitForTerminationSignal();
  LogInfo(kComponent, "signal ", signal_number, ": draining for up to ",
          absl::FormatDuration(options.shutdown_grace));
  health.SetDraining();
  // Ends every watch (UNAVAILABLE: watch again elsewhere) so they do not
  // hold the shutdown for the whole grace period.
  listener.Stop();
  // New calls are refused at once; in-flight unary calls get the grace
  // period to finish, then are cancelled.
  server->Shutdown(std::chrono::system_clock::now() +
                   absl::ToChronoMilliseconds(options.shutdown_grace));
  server->Wait();
  health.Stop();
  exporter.Stop();
  LogInfo(kComponent, "stopped");
  return kExitOk;
}

}  // namespace campaignq::server
