#pragma once
// `campaignq health`: the standard grpc.health.v1 check, for containers.

#include <grpcpp/grpcpp.h>

#include <memory>

#include "client/options.h"

namespace campaignq::client {

// Calls grpc.health.v1.Health/Check for --service (default "": the whole
// server) with --timeout (default 3s). Returns kExitOk when SERVING and
// kExitFailure otherwise (NOT_SERVING, UNKNOWN, or an RPC error).
int RunHealth(const std::shared_ptr<grpc::Channel>& channel, const CliOptions& options);

}  // namespace campaignq::client
