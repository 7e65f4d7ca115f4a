#pragma once
// The one place where the store's absl::Status becomes the grpc::Status a
// client sees. Both use the same canonical code numbers, so the mapping is
// 1:1 and the message is kept verbatim (it names ids and states, which is
// what a caller needs to act on it).

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace campaignq::server {

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace campaignq::server
