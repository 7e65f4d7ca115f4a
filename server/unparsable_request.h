#pragma once
// gRPC's generated sync handlers answer a request whose bytes do not parse
// as the method's message (random bytes, invalid UTF-8 in a string field)
// with INTERNAL and no message, before any of our code runs. That is the
// client's mistake, not the server's: this interceptor turns exactly that
// answer into INVALID_ARGUMENT saying so. Our handlers never send INTERNAL
// without a message (ToGrpcStatus always names a request id), so nothing
// else is touched.

#include <grpcpp/support/server_interceptor.h>

#include <memory>

namespace campaignq::server {

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
UnparsableRequestInterceptor();

}  // namespace campaignq::server
