#pragma once
// Input rules, checked before anything touches the database. Each returns
// OK or INVALID_ARGUMENT with a message that says what to change.
// Every INVALID_ARGUMENT names its request field as a field violation
// (common/status_details.h), which the server sends as google.rpc.BadRequest.

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "campaignq/v1/campaignq.pb.h"

namespace campaignq::store {

inline constexpr int kMaxUserIdLength = 128;
inline constexpr int kMaxCampaignNameLength = 200;
inline constexpr int kDefaultPageSize = 100;
inline constexpr int kMaxPageSize = 1000;

// 1 to 128 printable characters (no control characters; UTF-8 allowed).
absl::Status ValidateUserId(const std::string& user_id);
// 1 to 200 printable characters.
absl::Status ValidateCampaignName(const std::string& name);
// Unset or > 0.
absl::Status ValidateMaxParticipants(const std::optional<int32_t>& max_participants);
// > 0; `what` names the field in the message.
absl::Status ValidateId(int64_t id, const char* what);

// 0 -> default, 1..1000 as is, anything else INVALID_ARGUMENT.
absl::StatusOr<int> ResolvePageSize(int32_t page_size);
// Page tokens are opaque to callers: "" (first page) or one this service
// issued. Returns the last id of the previous page (0 for the first).
absl::StatusOr<int64_t> DecodePageToken(const std::string& token);
std::string EncodePageToken(int64_t last_id);

// The lower-case database word for a status and back.
const char* ApplicationStatusWord(v1::ApplicationStatus status);
v1::ApplicationStatus ApplicationStatusFromWord(const std::string& word);

}  // namespace campaignq::store
