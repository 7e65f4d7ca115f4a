#include "server/status_mapping.h"

#include <string>

namespace campaignq::server {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // absl::StatusCode and grpc::StatusCode both mirror google.rpc.Code, so
  // the numeric value carries over unchanged. A value outside that range
  // (only possible through a cast) would be meaningless to a client: report
  // it as UNKNOWN rather than send an invalid code on the wire.
  const int code = static_cast<int>(status.code());
  if (code < grpc::StatusCode::OK || code > grpc::StatusCode::UNAUTHENTICATED) {
    return grpc::Status(grpc::StatusCode::UNKNOWN, std::string(status.message()));
  }
  return grpc::Status(static_cast<grpc::StatusCode>(code), std::string(status.message()));
}

}  // namespace campaignq::server
