#include "server/server_setup.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/resource_quota.h>

#include "server/request_metrics.h"
#include "server/security/reflection_guard.h"

namespace campaignq::server {

std::unique_ptr<grpc::Server> BuildAndStartServer(const ServerSetup& setup, grpc::Service* service,
                                                  int* selected_port) {
  // Both are process-wide switches read when a builder is created or
  // started, so they must come before the builder.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

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
  grpc::ResourceQuota quota("campaignq-server");
  quota.SetMaxThreads(setup.max_threads);
  builder.SetResourceQuota(quota);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  if (setup.metrics != nullptr) interceptors = RequestMetricsInterceptors(setup.metrics);
  // First, so that the metrics count the status it substitutes.
  if (setup.authorizer != nullptr) {
    interceptors.insert(interceptors.begin(), security::ReflectionGuard(setup.authorizer));
  }
  if (!interceptors.empty()) {
    builder.experimental().SetInterceptorCreators(std::move(interceptors));
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
