#pragma once
// Per-call metrics for every RPC the server answers (campaignq and the
// standard services), recorded by a gRPC server interceptor so that no
// handler has to remember it.

#include <grpcpp/support/server_interceptor.h>

#include <memory>
#include <vector>

#include "common/metrics/metrics.h"

namespace campaignq::server {

// campaignq_requests_total{method,code}, campaignq_request_duration_seconds
// {method} and campaignq_applications_enqueued_total (Applies answered OK).
// Returns the interceptor factories to pass to ServerBuilder; `registry`
// must outlive the server.
std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
RequestMetricsInterceptors(metrics::Registry* registry);

}  // namespace campaignq::server
