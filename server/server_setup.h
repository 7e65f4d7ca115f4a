#pragma once
// Assembles a grpc::Server the way campaignq serves: the service, the
// standard health service (grpc.health.v1) and server reflection (so
// `grpcurl -plaintext HOST:PORT list` works: reflection_service.h), on a
// bounded sync thread pool.
// Shared by main and the in-process tests.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "common/metrics/metrics.h"
#include "server/limits/limit_options.h"
#include "server/reflection_service.h"
#include "server/security/authorizer.h"

namespace campaignq::server {

// The service name health checks report on, besides "" (the whole server).
inline constexpr char kServiceName[] = "campaignq.v1.CampaignQueue";

struct ServerSetup {
  // host:port; empty: no listening port (in-process channel only).
  std::string listen;
  // The sync server runs every in-flight call on its own thread (all but
  // Apply, a callback method that holds none: campaign_queue_service.h;
  // server reflection and grpc.health.v1, Watch included, are callback
  // services too), and a WatchApplication stream holds one for its whole
  // life. Unbounded, a burst of calls (or of watchers) would create
  // threads until memory runs out, all queueing for the --pool-size
  // database connections anyway. With the bound, calls beyond it get
  // RESOURCE_EXHAUSTED at once, which clients retry, instead of the whole
  // process degrading.
  int max_threads = 512;
  // Metrics of every call (request_metrics.h); nullptr: none.
  metrics::Registry* metrics = nullptr;
  // The transport limits (max receive message size, concurrent streams per
  // connection, keepalive enforcement, connection age) become channel
  // arguments; the per-call ones are CallLimits' (limits/call_limits.h).
  LimitOptions limits;
  // The listening port's credentials (security/credentials.h); nullptr:
  // plaintext.
  std::shared_ptr<grpc::ServerCredentials> credentials;
  // Server reflection, registered as one more service (it authenticates
  // its callers itself); it must outlive the server. nullptr: none.
  ReflectionService* reflection = nullptr;
};

// Builds and starts the server; nullptr when it cannot listen. `service`
// must outlive the server. *selected_port is the port actually bound
// (useful with port 0). All health statuses start NOT_SERVING: a
// HealthMonitor decides when the server is healthy.
std::unique_ptr<grpc::Server> BuildAndStartServer(const ServerSetup& setup, grpc::Service* service,
                                                  int* selected_port);

}  // namespace campaignq::server
