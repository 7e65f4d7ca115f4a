#include "server/server_stack.h"

#include <chrono>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/db/pool.h"
#include "common/log.h"
#include "common/metrics/http_exporter.h"
#include "common/metrics/metrics.h"
#include "common/metrics/process_metrics.h"
#include "common/store/campaign_store.h"
#include "server/campaign_queue_service.h"
#include "server/console/console_server.h"
#include "server/health_monitor.h"
#include "server/maintenance.h"
#include "server/queue_gauges.h"
#include "server/security/credentials.h"
#include "server/server_setup.h"

namespace campaignq::server {
namespace {

constexpr char kComponent[] = "server";

db::ConnectOptions ConnectAs(const ServerOptions& options, const char* application_name) {
  return options.process.ConnectAs(application_name);
}

db::PoolOptions PoolFor(const ServerOptions& options, const char* application_name,
                        int max_connections, std::chrono::milliseconds acquire_timeout) {
  db::PoolOptions pool;
  pool.url = options.process.database_url;
  pool.connect = ConnectAs(options, application_name);
  pool.max_connections = max_connections;
  pool.acquire_timeout = acquire_timeout;
  return pool;
}

store::ApplyBatcher::Options ApplyOptionsFor(const ServerOptions& options) {
  store::ApplyBatcher::Options apply;
  apply.max_queued = options.limits.max_queued_applies;
  return apply;
}

DecisionListenerOptions ListenerFor(const ServerOptions& options) {
  DecisionListenerOptions listener;
  listener.database_url = options.process.database_url;
  listener.connect = ConnectAs(options, "campaignq-server-listener");
  return listener;
}

}  // namespace

// Members in construction order; destroyed in reverse, each after
// everything that uses it.
struct ServerStack::Running {
  Running(const ServerOptions& options, std::unique_ptr<security::Authorizer> authorizer_in)
      : authorizer(std::move(authorizer_in)),
        pool(PoolFor(options, "campaignq-server", options.pool_size,
                     std::chrono::milliseconds(5000))),
        store(&pool, ApplyOptionsFor(options)),
        // Health pings get their own single connection: through the request
        // pool a burst of slow calls would hold every connection and the
        // server would report NOT_SERVING for being busy, not for losing its
        // database.
        health_pool(
            PoolFor(options, "campaignq-server-health", 1, std::chrono::milliseconds(2000))),
        health_store(&health_pool),
        // The queue gauges' count reads every pending application: it takes
        // as long as the backlog is large, or waits behind a lock on the
        // table. On the health connection it held up the health ping, and a
        // leader with a backlog went NOT_SERVING; on the request pool a
        // scrape would wait behind request traffic. So it has a connection
        // of its own, and each read gives up after QueueGauges::kReadTimeout.
        gauges_pool(
            PoolFor(options, "campaignq-server-gauges", 1, std::chrono::milliseconds(2000))),
        gauges_store(&gauges_pool),
        listener(ListenerFor(options)),
        exporter(&registry),
        limits(options.limits),
        service(&store, &listener, authorizer.get(), &limits) {
    metrics::AddProcessMetrics(&registry);
    metrics::AddBuildInfo(&registry, "server", CAMPAIGNQ_VERSION);
  }

  std::unique_ptr<security::Authorizer> authorizer;
  db::ConnectionPool pool;
  store::CampaignStore store;
  db::ConnectionPool health_pool;
  store::CampaignStore health_store;
  db::ConnectionPool gauges_pool;
  store::CampaignStore gauges_store;
  // In pooler-safe mode it listens to nothing: watches then fall back to
  // re-reading every kWatchFallbackInterval.
  DecisionListener listener;
  metrics::Registry registry;
  // Before the exporter, so they outlive every scrape.
  std::unique_ptr<MaintenanceLoop> maintenance;
  std::unique_ptr<QueueGauges> queue_gauges;
  metrics::HttpExporter exporter;
  CallLimits limits;
  CampaignQueueService service;
  // Outlives the server, whose reflection streams end first.
  std::unique_ptr<ReflectionService> reflection;
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<HealthMonitor> health;
  // The web console (--console-listen), over the same store and listener.
  std::unique_ptr<console::ConsoleServer> console;
};

ServerStack::ServerStack(ServerOptions options) : options_(std::move(options)) {}

ServerStack::~ServerStack() { Stop(); }

grpc::Server* ServerStack::grpc_server() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return running_ != nullptr ? running_->server.get() : nullptr;
}

const DecisionListener* ServerStack::listener() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return running_ != nullptr ? &running_->listener : nullptr;
}

absl::StatusOr<int> ServerStack::Start() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (started_) return absl::FailedPreconditionError("the server stack was started before");
  started_ = true;
  absl::StatusOr<int> port = StartLocked();
  if (!port.ok()) running_.reset();  // stops what did start, in order
  return port;
}

absl::StatusOr<int> ServerStack::StartLocked() {
  LogInfo(kComponent, "starting: listen=", options_.listen, " pool_size=", options_.pool_size,
          " max_threads=", options_.max_threads);
  // Security first: a bad tokens file or certificate fails the start at
  // once, not after waiting for the database.
  std::unique_ptr<security::Authorizer> authorizer;
  std::shared_ptr<grpc::ServerCredentials> credentials;
  if (!options_.migrate_only) {
    if (absl::Status rule = security::ValidateSecurityOptions(options_.security, options_.listen);
        !rule.ok()) {
      return rule;
    }
    absl::StatusOr<std::unique_ptr<security::Authorizer>> created =
        security::Authorizer::Create(options_.security);
    if (!created.ok()) return created.status();
    authorizer = *std::move(created);
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> made =
        security::MakeServerCredentials(options_.security);
    if (!made.ok()) return made.status();
    credentials = *std::move(made);
    if (authorizer->anonymous()) {
      LogWarning(kComponent, "NO AUTHENTICATION: every caller on ", options_.listen,
                 " is an anonymous admin (fine on loopback for development; configure "
                 "--auth-tokens-file, --jwt-public-keys or --tls-client-ca otherwise, "
                 "docs/security.md)");
    }
  }
  if (absl::Status schema =
          PrepareSchemaAtStart(options_.process, ConnectAs(options_, "campaignq-server-migrate"));
      !schema.ok()) {
    return schema;
  }
  LogInfo(kComponent, "database schema ready");
  if (options_.migrate_only) return 0;

  running_ = std::make_unique<Running>(options_, std::move(authorizer));
  Running& r = *running_;
  r.listener.Start();
  store::CampaignStore* health_store = &r.health_store;
  store::CampaignStore* gauges_store = &r.gauges_store;
  // Scheduled closes and retention, led by one server at a time; the
  // queue gauges are exported by that leader only, so that sum() over
  // servers counts the one queue once.
  MaintenanceOptions maintenance;
  maintenance.retain_decided = absl::ToChronoMicroseconds(options_.retain_decided);
  r.maintenance = std::make_unique<MaintenanceLoop>(&r.store, maintenance);
  r.maintenance->Start();
  const MaintenanceLoop* leader = r.maintenance.get();
  r.queue_gauges = std::make_unique<QueueGauges>(
      &r.registry,
      [gauges_store](absl::Time deadline) { return gauges_store->GetQueueDepth(deadline); },
      [leader] { return leader->leader(); });
  if (!options_.process.metrics_listen.empty()) {
    absl::StatusOr<int> metrics_port = r.exporter.Start(options_.process.metrics_listen);
    if (!metrics_port.ok()) return metrics_port.status();
    metrics_address_ = BoundAddress(options_.process.metrics_listen, *metrics_port);
    LogInfo(kComponent, "metrics on http://", metrics_address_, "/metrics");
  }

  ServerSetup setup;
  setup.listen = options_.listen;
  setup.max_threads = options_.max_threads;
  setup.limits = options_.limits;
  setup.metrics = &r.registry;
  setup.credentials = std::move(credentials);
  ReflectionOptions reflection;
  reflection.max_streams_per_key = options_.limits.max_reflection_streams_per_key;
  reflection.max_streams_total = options_.limits.max_reflection_streams_total;
  reflection.idle_timeout = options_.limits.reflection_idle_timeout;
  r.reflection = std::make_unique<ReflectionService>(
      std::vector<std::string>{kServiceName, "grpc.health.v1.Health",
                               grpc::reflection::v1alpha::ServerReflection::service_full_name()},
      r.authorizer.get(), reflection);
  setup.reflection = r.reflection.get();
  int port = 0;
  r.server = BuildAndStartServer(setup, &r.service, &port);
  if (r.server == nullptr || port == 0) {
    if (r.server != nullptr) r.server->Shutdown();
    metrics_address_.clear();
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options_.listen));
  }
  r.health = std::make_unique<HealthMonitor>(
      r.server->GetHealthCheckService(), [health_store] { return health_store->Ping(); },
      std::vector<std::string>{"", kServiceName});
  r.health->Start();
  // Read through the monitor, which Stop() ends after the exporter.
  HealthMonitor* health = r.health.get();
  r.registry.AddGauge("campaignq_health_serving",
                      "1 while grpc.health.v1 reports SERVING (database reachable, not draining)",
                      [health](double* value) {
                        *value = health->serving() ? 1 : 0;
                        return true;
                      });
  if (!options_.console_listen.empty()) {
    console::ConsoleServerOptions console_options;
    console_options.store = &r.store;
    console_options.pool = &r.pool;
    console_options.listener = &r.listener;
    if (options_.security.auth_configured()) {
      // The same principals and roles as the gRPC API: a bearer token
      // pasted into the page, checked by the server's authorizer.
      const security::Authorizer* authorizer = r.authorizer.get();
      console_options.authorizer =
          [authorizer](const std::string& bearer) -> absl::StatusOr<std::string> {
        const std::string header = "Bearer " + bearer;
        std::multimap<grpc::string_ref, grpc::string_ref> metadata;
        metadata.emplace("authorization", header);
        absl::StatusOr<security::Principal> principal = authorizer->Authenticate(metadata, nullptr);
        if (!principal.ok()) return principal.status();
        return std::string(security::RoleName(principal->role));
      };
    }
    r.console = std::make_unique<console::ConsoleServer>(std::move(console_options));
    absl::StatusOr<int> console_port = r.console->Start(options_.console_listen);
    if (!console_port.ok()) {
      r.server->Shutdown();
      r.health->Stop();
      metrics_address_.clear();
      return console_port.status();
    }
    console_address_ = BoundAddress(options_.console_listen, *console_port);
    LogInfo(kComponent, "console on http://", console_address_, "/");
  }
  address_ = BoundAddress(options_.listen, port);
  LogInfo(kComponent, "listening on ", address_, options_.security.tls() ? " (TLS" : " (plaintext",
          options_.security.tls_client_ca.empty() ? "" : ", client certificates required", ")");
  return port;
}

absl::Status ServerStack::ReloadSecurity() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (running_ == nullptr) return absl::FailedPreconditionError("the server is not running");
  return running_->authorizer->Reload();
}

void ServerStack::Drain() {
  std::lock_guard<std::mutex> lock(mutex_);
  DrainLocked();
}

void ServerStack::DrainLocked() {
  if (running_ == nullptr) return;
  running_->health->SetDraining();
  // Ends every watch and reflection stream (UNAVAILABLE: again elsewhere)
  // so they do not hold the shutdown for the whole grace period.
  running_->listener.Stop();
  if (running_->reflection != nullptr) running_->reflection->Drain();
}

void ServerStack::Stop() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (running_ == nullptr) return;
  LogInfo(kComponent, "draining for up to ", absl::FormatDuration(options_.shutdown_grace));
  DrainLocked();
  Running& r = *running_;
  if (r.console != nullptr) r.console->Stop();
  // New calls are refused at once; in-flight unary calls get the grace
  // period to finish, then are cancelled.
  r.server->Shutdown(std::chrono::system_clock::now() +
                     absl::ToChronoMilliseconds(options_.shutdown_grace));
  r.server->Wait();
  r.exporter.Stop();  // before the health monitor its gauge reads
  r.maintenance->Stop();
  r.health->Stop();
  running_.reset();  // closes the connections
  address_.clear();
  metrics_address_.clear();
  console_address_.clear();
  LogInfo(kComponent, "stopped");
}

}  // namespace campaignq::server
