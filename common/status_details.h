#pragma once
// Machine-readable details of an absl::Status, carried as payloads so that
// the layers below the server (validation, the store, the limiters) can say
// which field was wrong, why in one constant word, and when to retry,
// without knowing about gRPC. server/status_mapping.h turns them into the
// google.rpc details a client decodes (ErrorInfo, BadRequest, RetryInfo).
// Payload keys start with "campaignq/detail/"; setting a detail on an OK
// status does nothing (absl ignores payloads there).

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace campaignq {

// ErrorInfo.reason: a constant UPPER_SNAKE word (e.g. "ALREADY_APPLIED").
void SetErrorReason(absl::Status& status, absl::string_view reason);
// "" when none.
std::string ErrorReason(const absl::Status& status);

// ErrorInfo.metadata: key/value pairs about the failure (e.g.
// application_id). May reveal other callers' data: the server decides per
// caller whether they are sent (status_mapping.h).
void SetErrorMetadata(absl::Status& status, absl::string_view key, absl::string_view value);
std::map<std::string, std::string> ErrorMetadata(const absl::Status& status);

// BadRequest.field_violations: the request field (proto field name) and
// what is wrong with it.
void AddFieldViolation(absl::Status& status, absl::string_view field,
                       absl::string_view description);
std::vector<std::pair<std::string, std::string>> FieldViolations(const absl::Status& status);

// INVALID_ARGUMENT with `message`, and `field` as its one field violation.
absl::Status InvalidFieldError(absl::string_view field, absl::string_view message);

// RetryInfo.retry_delay.
void SetRetryDelay(absl::Status& status, absl::Duration delay);
std::optional<absl::Duration> RetryDelay(const absl::Status& status);

}  // namespace campaignq
