#include "common/store/validation.h"

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
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
    default:
      return "";
  }
}

v1::ApplicationStatus ApplicationStatusFromWord(const std::string& word) {
  for (auto status : {v1::APPLICATION_STATUS_PENDING, v1::APPLICATION_STATUS_APPROVED,
                      v1::APPLICATION_STATUS_WAITLISTED, v1::APPLICATION_STATUS_REJECTED,
                      v1::APPLICATION_STATUS_CANCELLED, v1::APPLICATION_STATUS_FAILED}) {
    if (word == ApplicationStatusWord(status)) return status;
  }
  return v1::APPLICATION_STATUS_UNSPECIFIED;
}

}  // namespace campaignq::store
