#include "server/server_setup.h"

#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/resource_quota.h>

#include <algorithm>
#include <climits>
#include <cstdint>

#include "grpc/health/v1/health.pb.h"
#include "server/request_metrics.h"
#include "server/unparsable_request.h"

namespace campaignq::server {
namespace {

int Milliseconds(absl::Duration duration) {
  return static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(duration), INT_MAX));
}

// docs/limits.md says why each limit and its default.
void ApplyTransportLimits(const LimitOptions& limits, grpc::ServerBuilder& builder) {
  // A request over the limit is refused by gRPC before any handler runs:
  // RESOURCE_EXHAUSTED. Replies are not limited (a page of 1,000
  // applications is larger than any request).
  builder.SetMaxReceiveMessageSize(limits.max_receive_message_bytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, limits.max_concurrent_streams);
  // Keepalive enforcement: clients may ping (also between calls, as
  // long-lived clients do), but not more often than the interval; a
  // connection that keeps doing it is closed with GOAWAY too_many_pings.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             Milliseconds(limits.min_client_ping_interval));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, limits.max_ping_strikes);
  // Old connections are closed, after a grace for their calls, so that
  // clients reconnect and a scaled-out deployment spreads them again.
  if (limits.max_connection_age > absl::ZeroDuration()) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS,
                               Milliseconds(limits.max_connection_age));
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                               Milliseconds(limits.max_connection_age_grace));
  }
}

}  // namespace

std::unique_ptr<grpc::Server> BuildAndStartServer(const ServerSetup& setup, grpc::Service* service,
                                                  int* selected_port) {
  // A process-wide switch read when a builder is created, so it must come
  // before the builder.
  grpc::EnableDefaultHealthCheckService(true);
  // gRPC's built-in health service registers no descriptors, so reflection
  // would list grpc.health.v1.Health and then answer "Symbol not found".
  // Touching our compiled health.proto links it in, which registers its
  // descriptors in the generated pool that reflection serves.
  grpc::health::v1::HealthCheckRequest::descriptor();

  grpc::ServerBuilder builder;
  *selected_port = 0;
  if (!setup.listen.empty()) {
    builder.AddListeningPort(
        setup.listen,
        setup.credentials != nullptr ? setup.credentials : grpc::InsecureServerCredentials(),
        selected_port);
  }
  // gRPC sets SO_REUSEPORT by default: a second server on a busy port would
  // then start and silently share its traffic. Fail to start instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  ApplyTransportLimits(setup.limits, builder);
  grpc::ResourceQuota quota("campaignq-server");
  quota.SetMaxThreads(setup.max_threads);
  builder.SetResourceQuota(quota);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  if (setup.metrics != nullptr) interceptors = RequestMetricsInterceptors(setup.metrics);
  // Before the metrics, so that they count the status it substitutes.
  interceptors.insert(interceptors.begin(), UnparsableRequestInterceptor());
  if (!interceptors.empty()) {
    builder.experimental().SetInterceptorCreators(std::move(interceptors));
  }
  builder.RegisterService(service);
  if (setup.reflection != nullptr) builder.RegisterService(setup.reflection);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) return nullptr;
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  health->SetServingStatus("", false);
  health->SetServingStatus(kServiceName, false);
  return server;
}

}  // namespace campaignq::server
