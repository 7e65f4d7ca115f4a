#pragma once
// The one place where an absl::Status becomes the grpc::Status a client
// sees. The code carries over 1:1 (both mirror google.rpc.Code); what a
// client may read is decided here:
//
// - Message: ClientMessage (client_message.h, the rule the web console
//   follows too): the store's own message when it is about the request, a
//   fixed one per code for anything made from a database error and for the
//   server's own faults.
// - Request id: every error gets a fresh one (16 hex digits). The message
//   ends with " [request_id=ID]", the details carry it as
//   google.rpc.RequestInfo, and one log line (component "server") holds the
//   same id with the full internal status: WARNING for the server's own
//   faults, DEBUG for errors about the request (so a flood of bad requests
//   does not flood the log).
// - Details (grpc-status-details-bin, a google.rpc.Status): RequestInfo
//   always; ErrorInfo (domain kErrorDomain) when the status has a reason
//   (common/status_details.h), with its metadata unless the caller may not
//   see it; BadRequest with the field violations for INVALID_ARGUMENT;
//   RetryInfo for RESOURCE_EXHAUSTED and UNAVAILABLE (the status's delay,
//   else kDefaultRetryDelay), and for ABORTED with a delay of its own.

#include <grpcpp/support/status.h>

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace campaignq::server {

inline constexpr char kErrorDomain[] = "campaignq.dev";
inline constexpr absl::Duration kDefaultRetryDelay = absl::Seconds(1);

struct ErrorDetailOptions {
  // ErrorInfo metadata (and the message that names the same facts, e.g.
  // ALREADY_EXISTS's existing application) may describe other users' data.
  // false: the metadata is dropped and such a message is replaced by the
  // fixed one of its code. The authorization layer decides per caller.
  bool include_error_metadata = true;
};

grpc::Status ToGrpcStatus(const absl::Status& status);
grpc::Status ToGrpcStatus(const absl::Status& status, const ErrorDetailOptions& options);

// `status` with its ErrorInfo metadata dropped and, if there was any, the
// message replaced by the fixed one of its code (request id kept): for a
// status already made by ToGrpcStatus when the caller turns out not to be
// allowed the metadata. OK and statuses without details come back as is.
grpc::Status WithoutErrorMetadata(const grpc::Status& status);

// 16 lower-case hex digits, random per call.
std::string NewRequestId();

}  // namespace campaignq::server
