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
inline constexpr int kMaxRequestIdLength = 100;

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

// "campaign_full" / "campaign_closed" (the database words) to the enum;
// anything else UNSPECIFIED.
v1::RejectionReason RejectionReasonFromWord(const std::string& word);

// A CreateCampaign schedule: each time a valid Timestamp, closes_at after
// opens_at and after `now_micros`, prequeue_opens_at only with opens_at and
// before it. Microseconds since the epoch, or nullopt when unset.
struct Schedule {
  std::optional<int64_t> opens_at_micros;
  std::optional<int64_t> closes_at_micros;
  std::optional<int64_t> prequeue_opens_at_micros;
};
absl::StatusOr<Schedule> ValidateSchedule(const v1::CreateCampaignRequest& request,
                                          int64_t now_micros);
// A CreateCampaign's holds (docs/holds.md): hold_duration in whole
// milliseconds from kMinHoldDuration to kMaxHoldDuration, only with
// max_participants; max_active_holds > 0, only with hold_duration. Each
// nullopt when unset.
inline constexpr int64_t kMinHoldDurationMs = 1000;
inline constexpr int64_t kMaxHoldDurationMs = 24 * 3600 * 1000;
struct Holds {
  std::optional<int64_t> hold_duration_ms;
  std::optional<int32_t> max_active_holds;
};
absl::StatusOr<Holds> ValidateHolds(const v1::CreateCampaignRequest& request);
// "" (none) or 1 to 100 printable characters.
absl::Status ValidateRequestId(const std::string& request_id);
// What a CreateCampaign asked for, request_id aside, as one canonical
// string: equal for a retry of the same request, different for any other.
std::string CreateCampaignDigest(const v1::CreateCampaignRequest& request);

// The lower-case database word for a status and back.
const char* ApplicationStatusWord(v1::ApplicationStatus status);
v1::ApplicationStatus ApplicationStatusFromWord(const std::string& word);

}  // namespace campaignq::store
