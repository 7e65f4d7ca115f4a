#pragma once
// Server reflection (grpc.reflection.v1alpha) needs a valid principal when
// authentication is configured: it lists every method and message, which
// is not for anonymous callers. The reflection service is gRPC's own, so
// it cannot call Authorizer::Authorize itself; this interceptor does it
// for it: on a call without a valid principal it drops every response
// message and replaces the final status with UNAUTHENTICATED. The health
// service (grpc.health.v1) stays open: probes carry no token.

#include <grpcpp/support/server_interceptor.h>

#include <memory>
#include <vector>

#include "server/security/authorizer.h"

namespace campaignq::server::security {

// The interceptor factory; `authorizer` must outlive the server.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> ReflectionGuard(
    const Authorizer* authorizer);

}  // namespace campaignq::server::security
