#include "server/server_setup.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/resource_quota.h>

#include "grpc/health/v1/health.pb.h"
#include "server/request_metrics.h"

namespace campaignq::server {

std::unique_ptr<grpc::Server> BuildAndStartServer(const ServerSetup& setup, grpc::Service* service,
                                                  int* selected_port) {
  // Both are process-wide switches read when a builder is created or
  // started, so they must come before the builder.
  grpc::EnableDefaultHealthCheckService(true);
  // gRPC's built-in health service registers no descriptors, so reflection
  // would list grpc.health.v1.Health and then answer "Symbol not found".
  // Touching our compiled health.proto links it in, which registers its
  // descriptors in the generated pool that reflection serves.
  grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  grpc::ServerBuilder builder;
  *selected_port = 0;
  if (!setup.listen.empty()) {
    builder.AddListeningPort(setup.listen, grpc::InsecureServerCredentials(), selected_port);
  }
  // gRPC sets SO_REUSEPORT by default: a second server on a busy port would
  // then start and silently share its traffic. Fail to start instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  grpc::ResourceQuota quota("campaignq-server");
  quota.SetMaxThreads(setup.max_threads);
  builder.SetResourceQuota(quota);
  if (setup.metrics != nullptr) {
    builder.experimental().SetInterceptorCreators(RequestMetricsInterceptors(setup.metrics));
  }
  builder.RegisterService(service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) return nullptr;
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  health->SetServingStatus("", false);
  health->SetServingStatus(kServiceName, false);
  return server;
}

}  // namespace campaignq::server
