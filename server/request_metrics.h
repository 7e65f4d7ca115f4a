#pragma once
// Per-call metrics for every RPC the server answers (campaignq and the
// standard services), recorded by a gRPC server interceptor so that no
// handler has to remember it. The names and labels are the ones stock gRPC
// dashboards and alerts use (go-grpc-prometheus, grpc-ecosystem):
//
//   grpc_server_started_total{grpc_service,grpc_method,grpc_type}
//   grpc_server_handled_total{grpc_service,grpc_method,grpc_type,grpc_code}
//   grpc_server_handling_seconds{grpc_service,grpc_method,grpc_type}  unary
//   grpc_server_msg_received_total / grpc_server_msg_sent_total
//
// A stream's duration says how long a client watched, not how fast the
// server answered, so streaming calls get their own histogram
// (grpc_server_stream_duration_seconds, buckets up to 10 minutes) and do not
// pollute the unary latency quantiles. grpc_code is the code's CamelCase
// name ("OK", "InvalidArgument", ...), as in those dashboards.
// campaignq_applications_enqueued_total counts Applies answered OK.

#include <grpcpp/support/server_interceptor.h>

#include <memory>
#include <string>
#include <vector>

#include "common/metrics/metrics.h"

namespace campaignq::server {

// Returns the interceptor factories to pass to ServerBuilder; `registry`
// must outlive the server.
std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
RequestMetricsInterceptors(metrics::Registry* registry);

// "InvalidArgument" for grpc::StatusCode::INVALID_ARGUMENT: the grpc_code
// label value.
std::string GrpcCodeLabel(int code);

}  // namespace campaignq::server
