#include "client/health.h"

#include <iostream>

#include "client/format.h"
#include "client/rpc.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace campaignq::client {

int RunHealth(const std::shared_ptr<grpc::Channel>& channel, const CliOptions& o) {
  using grpc::health::v1::HealthCheckResponse;
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(o.service);
  grpc::ClientContext context;
  SetTimeout(&context, o.timeout > absl::ZeroDuration() ? o.timeout : absl::Seconds(3));
  HealthCheckResponse response;
  grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) {
    // Container health checks know 0 and 1 only (Docker reserves 2): every
    // failure is 1, not the 10 + code of the other commands.
    ReportRpcError(status, o.json);
    return kExitFailure;
  }
  if (o.json) {
    std::cout << ToJson(response) << "\n";
  } else {
    std::cout << HealthCheckResponse::ServingStatus_Name(response.status()) << "\n";
  }
  return response.status() == HealthCheckResponse::SERVING ? kExitOk : kExitFailure;
}

}  // namespace campaignq::client
