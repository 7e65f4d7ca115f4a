#include "common/status_details.h"

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace campaignq {
namespace {

constexpr char kReasonKey[] = "campaignq/detail/reason";
constexpr char kMetadataPrefix[] = "campaignq/detail/metadata/";
constexpr char kViolationPrefix[] = "campaignq/detail/field/";
constexpr char kRetryDelayKey[] = "campaignq/detail/retry_delay_ns";

// Every payload whose key starts with `prefix`, the prefix removed.
std::vector<std::pair<std::string, std::string>> PayloadsUnder(const absl::Status& status,
                                                               absl::string_view prefix) {
  std::vector<std::pair<std::string, std::string>> found;
  status.ForEachPayload([&](absl::string_view key, const absl::Cord& value) {
    if (absl::StartsWith(key, prefix)) {
      found.emplace_back(std::string(key.substr(prefix.size())), std::string(value));
    }
  });
  return found;
}

}  // namespace

void SetErrorReason(absl::Status& status, absl::string_view reason) {
  status.SetPayload(kReasonKey, absl::Cord(reason));
}

std::string ErrorReason(const absl::Status& status) {
  auto reason = status.GetPayload(kReasonKey);
  return reason.has_value() ? std::string(*reason) : std::string();
}

void SetErrorMetadata(absl::Status& status, absl::string_view key, absl::string_view value) {
  status.SetPayload(absl::StrCat(kMetadataPrefix, key), absl::Cord(value));
}

std::map<std::string, std::string> ErrorMetadata(const absl::Status& status) {
  std::map<std::string, std::string> metadata;
  for (auto& [key, value] : PayloadsUnder(status, kMetadataPrefix)) {
    metadata.emplace(std::move(key), std::move(value));
  }
  return metadata;
}

void AddFieldViolation(absl::Status& status, absl::string_view field,
                       absl::string_view description) {
  status.SetPayload(absl::StrCat(kViolationPrefix, field), absl::Cord(description));
}

std::vector<std::pair<std::string, std::string>> FieldViolations(const absl::Status& status) {
  return PayloadsUnder(status, kViolationPrefix);
}

absl::Status InvalidFieldError(absl::string_view field, absl::string_view message) {
  absl::Status status = absl::InvalidArgumentError(message);
  AddFieldViolation(status, field, message);
  return status;
}

void SetRetryDelay(absl::Status& status, absl::Duration delay) {
  status.SetPayload(kRetryDelayKey, absl::Cord(absl::StrCat(absl::ToInt64Nanoseconds(delay))));
}

std::optional<absl::Duration> RetryDelay(const absl::Status& status) {
  auto payload = status.GetPayload(kRetryDelayKey);
  int64_t nanos = 0;
  if (!payload.has_value() || !absl::SimpleAtoi(std::string(*payload), &nanos)) {
    return std::nullopt;
  }
  return absl::Nanoseconds(nanos);
}

}  // namespace campaignq
