#include "server/status_mapping.h"

#include <google/protobuf/duration.pb.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/db/pg_status.h"
#include "common/log.h"
#include "common/status_details.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "server/client_message.h"

namespace campaignq::server {
namespace {

constexpr char kRequestIdPrefix[] = " [request_id=";

template <typename Message>
void AddDetail(google::rpc::Status& rpc_status, const Message& detail) {
  rpc_status.add_details()->PackFrom(detail);
}

void SetDuration(absl::Duration duration, google::protobuf::Duration* out) {
  const int64_t nanos = absl::ToInt64Nanoseconds(duration);
  out->set_seconds(nanos / 1000000000);
  out->set_nanos(static_cast<int32_t>(nanos % 1000000000));
}

}  // namespace

std::string NewRequestId() {
  thread_local absl::BitGen bits;
  return absl::StrFormat("%016x", absl::Uniform<uint64_t>(bits));
}

grpc::Status ToGrpcStatus(const absl::Status& status) { return ToGrpcStatus(status, {}); }

grpc::Status ToGrpcStatus(const absl::Status& status, const ErrorDetailOptions& options) {
  if (status.ok()) return grpc::Status::OK;
  // absl::StatusCode and grpc::StatusCode both mirror google.rpc.Code, so
  // the numeric value carries over unchanged. A value outside that range
  // (only possible through a cast) would be meaningless to a client: report
  // it as UNKNOWN rather than send an invalid code on the wire.
  int number = static_cast<int>(status.code());
  if (number < grpc::StatusCode::OK || number > grpc::StatusCode::UNAUTHENTICATED) {
    number = grpc::StatusCode::UNKNOWN;
  }
  const auto code = static_cast<grpc::StatusCode>(number);
  const std::string request_id = NewRequestId();
  const std::map<std::string, std::string> metadata = ErrorMetadata(status);
  const bool hide_message =
      !MessageIsForClient(status) || (!options.include_error_metadata && !metadata.empty());
  const std::string message =
      absl::StrCat(hide_message ? FixedMessage(status.code()) : std::string(status.message()),
                   kRequestIdPrefix, request_id, "]");

  if (IsServerFault(status.code()) || !db::SqlState(status).empty()) {
    LogWarning("server", "call failed: ", status.ToString(), " request_id=", request_id);
  } else {
    LogDebug("server", "call failed: ", status.ToString(), " request_id=", request_id);
  }

  google::rpc::Status rpc_status;
  rpc_status.set_code(number);
  rpc_status.set_message(message);
  google::rpc::RequestInfo request_info;
  request_info.set_request_id(request_id);
  AddDetail(rpc_status, request_info);
  const std::string reason = ErrorReason(status);
  if (!reason.empty()) {
    google::rpc::ErrorInfo info;
    info.set_reason(reason);
    info.set_domain(kErrorDomain);
    if (options.include_error_metadata)
      info.mutable_metadata()->insert(metadata.begin(), metadata.end());
    AddDetail(rpc_status, info);
  }
  if (code == grpc::StatusCode::INVALID_ARGUMENT) {
    google::rpc::BadRequest bad_request;
    // Field names and descriptions come from the validation only (a
    // database error has none): safe to send.
    for (const auto& [field, description] : FieldViolations(status)) {
      auto* violation = bad_request.add_field_violations();
      violation->set_field(field);
      violation->set_description(description);
    }
    AddDetail(rpc_status, bad_request);
  }
  // An ABORTED says when to retry only when its maker knew (a hold call
  // behind a worker's batch); a plain conflict retries at once.
  const std::optional<absl::Duration> delay = RetryDelay(status);
  if (code == grpc::StatusCode::RESOURCE_EXHAUSTED || code == grpc::StatusCode::UNAVAILABLE ||
      (code == grpc::StatusCode::ABORTED && delay.has_value())) {
    google::rpc::RetryInfo retry;
    SetDuration(delay.value_or(kDefaultRetryDelay), retry.mutable_retry_delay());
    AddDetail(rpc_status, retry);
  }
  return grpc::Status(code, message, rpc_status.SerializeAsString());
}

grpc::Status WithoutErrorMetadata(const grpc::Status& status) {
  google::rpc::Status rpc_status;
  if (status.ok() || status.error_details().empty() ||
      !rpc_status.ParseFromString(status.error_details())) {
    return status;
  }
  bool had_metadata = false;
  for (auto& any : *rpc_status.mutable_details()) {
    google::rpc::ErrorInfo info;
    if (!any.UnpackTo(&info) || info.metadata().empty()) continue;
    had_metadata = true;
    info.clear_metadata();
    any.PackFrom(info);
  }
  if (!had_metadata) return status;
  std::string message = FixedMessage(static_cast<absl::StatusCode>(status.error_code()));
  const std::string& old_message = status.error_message();
  const size_t id_at = old_message.rfind(kRequestIdPrefix);
  if (id_at != std::string::npos) message += old_message.substr(id_at);
  rpc_status.set_message(message);
  return grpc::Status(status.error_code(), message, rpc_status.SerializeAsString());
}

}  // namespace campaignq::server
