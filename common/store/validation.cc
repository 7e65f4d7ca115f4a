#include "common/store/validation.h"

#include <google/protobuf/util/time_util.h>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/status_details.h"

namespace campaignq::store {
namespace {

constexpr absl::string_view kPageTokenPrefix = "after:";

// Counts UTF-8 code points; false on invalid UTF-8 or a control character.
bool CountPrintable(const std::string& text, int* length) {
  int count = 0;
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    size_t width = c < 0x80           ? 1
                   : (c >> 5) == 0x6  ? 2
                   : (c >> 4) == 0xE  ? 3
                   : (c >> 3) == 0x1E ? 4
                                      : 0;
    if (width == 0 || i + width > text.size()) return false;
    for (size_t k = 1; k < width; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return false;
    }
    if (width == 1 && (c < 0x20 || c == 0x7F)) return false;
    i += width;
    ++count;
  }
  *length = count;
  return true;
}

absl::Status ValidatePrintable(const std::string& text, const char* field, int max_length) {
  int length = 0;
  if (!CountPrintable(text, &length)) {
    return InvalidFieldError(
        field, absl::StrCat(field, " must be printable UTF-8 text without control characters"));
  }
  if (length < 1 || length > max_length) {
    return InvalidFieldError(
        field, absl::StrCat(field, " must be 1 to ", max_length, " characters long, got ", length));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateUserId(const std::string& user_id) {
  return ValidatePrintable(user_id, "user_id", kMaxUserIdLength);
}

absl::Status ValidateCampaignName(const std::string& name) {
  return ValidatePrintable(name, "name", kMaxCampaignNameLength);
}

absl::Status ValidateMaxParticipants(const std::optional<int32_t>& max_participants) {
  if (max_participants.has_value() && *max_participants <= 0) {
    return InvalidFieldError(
        "max_participants",
        absl::StrCat("max_participants must be greater than 0 (leave it unset for no cap), got ",
                     *max_participants));
  }
  return absl::OkStatus();
}

absl::Status ValidateId(int64_t id, const char* what) {
  if (id <= 0) {
    return InvalidFieldError(what, absl::StrCat(what, " must be a positive id, got ", id));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> ResolvePageSize(int32_t page_size) {
  if (page_size == 0) return kDefaultPageSize;
  if (page_size < 0 || page_size > kMaxPageSize) {
    return InvalidFieldError("page_size",
                             absl::StrCat("page_size must be 1 to ", kMaxPageSize, " (0 for ",
                                          kDefaultPageSize, "), got ", page_size));
  }
  return page_size;
}

absl::StatusOr<int64_t> DecodePageToken(const std::string& token) {
  if (token.empty()) return 0;
  std::string decoded;
  int64_t last_id = 0;
  if (!absl::WebSafeBase64Unescape(token, &decoded) ||
      !absl::StartsWith(decoded, kPageTokenPrefix) ||
      !absl::SimpleAtoi(decoded.substr(kPageTokenPrefix.size()), &last_id) || last_id <= 0) {
    return InvalidFieldError(
        "page_token",
        "page_token is not one this service issued; pass next_page_token from the previous "
        "response, or leave it empty for the first page");
  }
  return last_id;
}

std::string EncodePageToken(int64_t last_id) {
  return absl::WebSafeBase64Escape(absl::StrCat(kPageTokenPrefix, last_id));
}

const char* ApplicationStatusWord(v1::ApplicationStatus status) {
  switch (status) {
    case v1::APPLICATION_STATUS_PENDING:
      return "pending";
    case v1::APPLICATION_STATUS_APPROVED:
      return "approved";
    case v1::APPLICATION_STATUS_WAITLISTED:
      return "waitlisted";
    case v1::APPLICATION_STATUS_REJECTED:
      return "rejected";
    case v1::APPLICATION_STATUS_CANCELLED:
      return "cancelled";
    case v1::APPLICATION_STATUS_FAILED:
      return "failed";
    case v1::APPLICATION_STATUS_HELD:
      return "held";
    case v1::APPLICATION_STATUS_RELEASED:
      return "released";
    case v1::APPLICATION_STATUS_EXPIRED:
      return "expired";
    default:
      return "";
  }
}

v1::RejectionReason RejectionReasonFromWord(const std::string& word) {
  if (word == "campaign_full") return v1::REJECTION_REASON_CAMPAIGN_FULL;
  if (word == "campaign_closed") return v1::REJECTION_REASON_CAMPAIGN_CLOSED;
  return v1::REJECTION_REASON_UNSPECIFIED;
}

namespace {

// A Timestamp as microseconds since the epoch; INVALID_ARGUMENT naming
// `field` when it is out of range (protobuf's own rule: years 1 to 9999,
// nanos 0 to 999,999,999).
absl::StatusOr<int64_t> TimestampMicros(const google::protobuf::Timestamp& time,
                                        const char* field) {
  using google::protobuf::util::TimeUtil;
  if (time.seconds() < TimeUtil::kTimestampMinSeconds ||
      time.seconds() > TimeUtil::kTimestampMaxSeconds || time.nanos() < 0 ||
      time.nanos() > 999999999) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is not a valid timestamp (years 1 to 9999, nanos 0 to 999999999)"));
  }
  return TimeUtil::TimestampToMicroseconds(time);
}

}  // namespace

absl::StatusOr<Schedule> ValidateSchedule(const v1::CreateCampaignRequest& request,
                                          int64_t now_micros) {
  Schedule schedule;
  if (request.has_opens_at()) {
    auto micros = TimestampMicros(request.opens_at(), "opens_at");
    if (!micros.ok()) return micros.status();
    schedule.opens_at_micros = *micros;
  }
  if (request.has_closes_at()) {
    auto micros = TimestampMicros(request.closes_at(), "closes_at");
    if (!micros.ok()) return micros.status();
    if (*micros <= now_micros) {
      return absl::InvalidArgumentError(
          "closes_at must be in the future (to close a campaign now, call CloseCampaign)");
    }
    if (schedule.opens_at_micros && *micros <= *schedule.opens_at_micros) {
      return absl::InvalidArgumentError("closes_at must be after opens_at");
    }
    schedule.closes_at_micros = *micros;
  }
  if (request.has_prequeue_opens_at()) {
    auto micros = TimestampMicros(request.prequeue_opens_at(), "prequeue_opens_at");
    if (!micros.ok()) return micros.status();
    if (!schedule.opens_at_micros) {
      return absl::InvalidArgumentError(
          "prequeue_opens_at needs opens_at: the pre-queue is shuffled at opens_at");
    }
    if (*micros >= *schedule.opens_at_micros) {
      return absl::InvalidArgumentError("prequeue_opens_at must be before opens_at");
    }
    schedule.prequeue_opens_at_micros = *micros;
  }
  return schedule;
}

absl::StatusOr<Holds> ValidateHolds(const v1::CreateCampaignRequest& request) {
  Holds holds;
  if (request.has_hold_duration()) {
    const google::protobuf::Duration& duration = request.hold_duration();
    using google::protobuf::util::TimeUtil;
    if (duration.seconds() < TimeUtil::kDurationMinSeconds ||
        duration.seconds() > TimeUtil::kDurationMaxSeconds || duration.nanos() <= -1000000000 ||
        duration.nanos() >= 1000000000 || (duration.seconds() > 0 && duration.nanos() < 0) ||
        (duration.seconds() < 0 && duration.nanos() > 0)) {
      return InvalidFieldError("hold_duration", "hold_duration is not a valid duration");
    }
    const absl::Duration asked =
        absl::Seconds(duration.seconds()) + absl::Nanoseconds(duration.nanos());
    // A confirm may wait up to 500 ms for the campaign lock (docs/holds.md):
    // a shorter hold could expire while its buyer's confirm waits. A day is
    // a payment window's outer bound; a longer hold is a reservation, which
    // keeps a seat from everyone in line for days.
    if (asked < absl::Milliseconds(kMinHoldDurationMs) ||
        asked > absl::Milliseconds(kMaxHoldDurationMs)) {
      return InvalidFieldError(
          "hold_duration",
          absl::StrCat("hold_duration must be 1s to 24h, got ", absl::FormatDuration(asked)));
    }
    // The database keeps milliseconds; finer would come back changed.
    if (duration.nanos() % 1000000 != 0) {
      return InvalidFieldError("hold_duration",
                               absl::StrCat("hold_duration must be whole milliseconds, got ",
                                            absl::FormatDuration(asked)));
    }
    if (!request.has_max_participants()) {
      return InvalidFieldError("hold_duration",
                               "hold_duration needs max_participants: a hold keeps a seat, and a "
                               "campaign without a cap has none to keep");
    }
    holds.hold_duration_ms = absl::ToInt64Milliseconds(asked);
  }
  if (request.has_max_active_holds()) {
    if (request.max_active_holds() <= 0) {
      return InvalidFieldError(
          "max_active_holds",
          absl::StrCat("max_active_holds must be greater than 0 (leave it unset for as many "
                       "holds as seats), got ",
                       request.max_active_holds()));
    }
    if (!holds.hold_duration_ms) {
      return InvalidFieldError("max_active_holds",
                               "max_active_holds needs hold_duration: it bounds the holds "
                               "outstanding, and without hold_duration a campaign makes none");
    }
    holds.max_active_holds = request.max_active_holds();
  }
  return holds;
}

absl::Status ValidateRequestId(const std::string& request_id) {
  if (request_id.empty()) return absl::OkStatus();
  return ValidatePrintable(request_id, "request_id", kMaxRequestIdLength);
}

std::string CreateCampaignDigest(const v1::CreateCampaignRequest& request) {
  // Lengths first, so no name can make two requests read alike.
  return absl::StrCat(
      "v1;name:", request.name().size(), ":", request.name(),
      ";max:", request.has_max_participants() ? absl::StrCat(request.max_participants()) : "none",
      ";waitlist:", request.has_waitlist() ? (request.waitlist() ? "1" : "0") : "default",
      ";opens:",
      request.has_opens_at()
          ? absl::StrCat(request.opens_at().seconds(), ".", request.opens_at().nanos())
          : "none",
      ";closes:",
      request.has_closes_at()
          ? absl::StrCat(request.closes_at().seconds(), ".", request.closes_at().nanos())
          : "none",
      // Only when set, so that the digests stored before it existed match.
      request.has_prequeue_opens_at()
          ? absl::StrCat(";prequeue:", request.prequeue_opens_at().seconds(), ".",
                         request.prequeue_opens_at().nanos())
          : "",
      request.has_hold_duration() ? absl::StrCat(";hold:", request.hold_duration().seconds(), ".",
                                                 request.hold_duration().nanos())
                                  : "",
      request.has_max_active_holds() ? absl::StrCat(";active:", request.max_active_holds()) : "");
}

v1::ApplicationStatus ApplicationStatusFromWord(const std::string& word) {
  for (auto status : {v1::APPLICATION_STATUS_PENDING, v1::APPLICATION_STATUS_APPROVED,
                      v1::APPLICATION_STATUS_WAITLISTED, v1::APPLICATION_STATUS_REJECTED,
                      v1::APPLICATION_STATUS_CANCELLED, v1::APPLICATION_STATUS_FAILED,
                      v1::APPLICATION_STATUS_HELD, v1::APPLICATION_STATUS_RELEASED,
                      v1::APPLICATION_STATUS_EXPIRED}) {
    if (word == ApplicationStatusWord(status)) return status;
  }
  return v1::APPLICATION_STATUS_UNSPECIFIED;
}

}  // namespace campaignq::store
