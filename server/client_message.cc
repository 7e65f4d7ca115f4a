#include "server/client_message.h"

#include "common/db/pg_status.h"

namespace campaignq::server {

bool MessageIsForClient(const absl::Status& status) {
  if (!db::SqlState(status).empty()) return false;
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
      return true;
    default:
      return false;
  }
}

const char* FixedMessage(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kCancelled:
      return "the call was cancelled";
    case absl::StatusCode::kInvalidArgument:
      return "the request has an invalid value";
    case absl::StatusCode::kDeadlineExceeded:
      return "the call's deadline passed before it completed";
    case absl::StatusCode::kNotFound:
      return "not found";
    case absl::StatusCode::kAlreadyExists:
      return "it exists already";
    case absl::StatusCode::kPermissionDenied:
      return "permission denied";
    case absl::StatusCode::kResourceExhausted:
      return "too many requests; retry later";
    case absl::StatusCode::kFailedPrecondition:
      return "the request conflicts with the current state";
    case absl::StatusCode::kAborted:
      return "the request conflicted with a concurrent one; retry";
    case absl::StatusCode::kUnavailable:
      return "the service is temporarily unavailable; retry";
    case absl::StatusCode::kUnauthenticated:
      return "unauthenticated";
    case absl::StatusCode::kUnknown:
      return "the outcome is unknown; read back before retrying";
    default:
      return "internal error";
  }
}

std::string ClientMessage(const absl::Status& status) {
  return MessageIsForClient(status) ? std::string(status.message()) : FixedMessage(status.code());
}

bool IsServerFault(absl::StatusCode code) {
  return code == absl::StatusCode::kUnknown || code == absl::StatusCode::kInternal ||
         code == absl::StatusCode::kUnavailable || code == absl::StatusCode::kDataLoss ||
         code == absl::StatusCode::kUnimplemented;
}

}  // namespace campaignq::server
