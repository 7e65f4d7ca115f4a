#include "server/apply_batch.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_details.h"
#include "common/store/validation.h"
#include "server/status_mapping.h"

namespace campaignq::server {

absl::Status ValidateApplyBatch(const v1::ApplyBatchRequest& request) {
  const int count = request.requests_size();
  if (count < 1 || count > kMaxApplyBatch) {
    return InvalidFieldError("requests", absl::StrCat("requests must hold 1 to ", kMaxApplyBatch,
                                                      " Applies, got ", count));
  }
  std::vector<std::pair<std::string, std::string>> violations;
  for (int i = 0; i < count; ++i) {
    const v1::ApplyRequest& item = request.requests(i);
    for (const absl::Status& status : {store::ValidateId(item.campaign_id(), "campaign_id"),
                                       store::ValidateUserId(item.user_id())}) {
      for (auto& [field, description] : FieldViolations(status)) {
        violations.emplace_back(absl::StrCat("requests[", i, "].", field), std::move(description));
      }
    }
  }
  if (violations.empty()) return absl::OkStatus();
  std::string message = absl::StrCat(violations[0].first, ": ", violations[0].second);
  if (violations.size() > 1) {
    absl::StrAppend(&message, " (and ", violations.size() - 1,
                    " more: see the BadRequest field violations)");
  }
  absl::Status invalid = absl::InvalidArgumentError(message);
  for (const auto& [field, description] : violations) {
    AddFieldViolation(invalid, field, description);
  }
  return invalid;
}

v1::ApplyBatchResult BatchResult(absl::StatusOr<v1::Application> outcome) {
  v1::ApplyBatchResult result;
  if (outcome.ok()) {
    *result.mutable_application() = *std::move(outcome);
    return result;
  }
  // The same mapping as a call's error (message rule, request id, details):
  // a client decodes an item's error as it decodes Apply's.
  const grpc::Status status = ToGrpcStatus(outcome.status());
  if (!result.mutable_error()->ParseFromString(status.error_details())) {
    result.mutable_error()->set_code(status.error_code());
    result.mutable_error()->set_message(status.error_message());
  }
  return result;
}

}  // namespace campaignq::server
