// Every request message of campaignq.proto parsed from the same bytes and
// put through the checks the store runs before it touches the database
// (common/store/validation.h), in the order CampaignStore runs them.
// Properties beyond "no crash, no sanitizer report": a retry's digest
// ignores request_id, and a status word maps back to its status.

#include <cstddef>
#include <cstdint>
#include <string>

#include "campaignq/v1/campaignq.pb.h"
#include "common/store/validation.h"

namespace {

namespace v1 = campaignq::v1;
namespace store = campaignq::store;

// Aborts (a libFuzzer crash) when a property does not hold.
void Require(bool holds) {
  if (!holds) __builtin_trap();
}

template <typename Message>
bool Parse(const uint8_t* data, size_t size, Message* message) {
  return message->ParseFromArray(data, static_cast<int>(size));
}

void CreateCampaign(const uint8_t* data, size_t size) {
  v1::CreateCampaignRequest request;
  if (!Parse(data, size, &request)) return;
  (void)store::ValidateCampaignName(request.name());
  (void)store::ValidateMaxParticipants(request.has_max_participants()
                                           ? std::optional<int32_t>(request.max_participants())
                                           : std::nullopt);
  (void)store::ValidateRequestId(request.request_id());
  // A fixed "now" and the extremes: the schedule check compares with it.
  for (int64_t now : {int64_t{0}, int64_t{1'700'000'000'000'000}, INT64_MAX, INT64_MIN}) {
    (void)store::ValidateSchedule(request, now);
  }
  const absl::StatusOr<store::Holds> holds = store::ValidateHolds(request);
  if (holds.ok() && holds->hold_duration_ms) {
    Require(*holds->hold_duration_ms >= store::kMinHoldDurationMs &&
            *holds->hold_duration_ms <= store::kMaxHoldDurationMs);
  }
  v1::CreateCampaignRequest retry = request;
  retry.set_request_id(request.request_id() + "-retry");
  Require(store::CreateCampaignDigest(request) == store::CreateCampaignDigest(retry));
}

template <typename Message>
void ById(const uint8_t* data, size_t size, int64_t (Message::*id)() const, const char* what) {
  Message request;
  if (!Parse(data, size, &request)) return;
  const absl::Status status = store::ValidateId((request.*id)(), what);
  Require(status.ok() == ((request.*id)() > 0));
}

void Page(int32_t page_size, const std::string& page_token) {
  const absl::StatusOr<int> resolved = store::ResolvePageSize(page_size);
  if (resolved.ok()) Require(*resolved >= 1 && *resolved <= store::kMaxPageSize);
  const absl::StatusOr<int64_t> after = store::DecodePageToken(page_token);
  if (after.ok()) Require(*after >= 0);
}

void ListCampaigns(const uint8_t* data, size_t size) {
  v1::ListCampaignsRequest request;
  if (!Parse(data, size, &request)) return;
  Page(request.page_size(), request.page_token());
}

void ListApplications(const uint8_t* data, size_t size) {
  v1::ListApplicationsRequest request;
  if (!Parse(data, size, &request)) return;
  Page(request.page_size(), request.page_token());
  if (!request.user_id().empty()) (void)store::ValidateUserId(request.user_id());
  // Unknown enum values survive parsing (proto3 open enums).
  const std::string word = store::ApplicationStatusWord(request.status());
  if (!word.empty()) Require(store::ApplicationStatusFromWord(word) == request.status());
}

void Apply(const uint8_t* data, size_t size) {
  v1::ApplyRequest request;
  if (!Parse(data, size, &request)) return;
  (void)store::ValidateId(request.campaign_id(), "campaign_id");
  (void)store::ValidateUserId(request.user_id());
}

void GetQueueStats(const uint8_t* data, size_t size) {
  v1::GetQueueStatsRequest request;
  if (!Parse(data, size, &request)) return;
  (void)request.stall_threshold().seconds();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  CreateCampaign(data, size);
  ById<v1::GetCampaignRequest>(data, size, &v1::GetCampaignRequest::campaign_id, "campaign_id");
  ListCampaigns(data, size);
  ById<v1::CloseCampaignRequest>(data, size, &v1::CloseCampaignRequest::campaign_id, "campaign_id");
  ById<v1::PauseCampaignRequest>(data, size, &v1::PauseCampaignRequest::campaign_id, "campaign_id");
  ById<v1::ResumeCampaignRequest>(data, size, &v1::ResumeCampaignRequest::campaign_id,
                                  "campaign_id");
  ById<v1::DeleteCampaignRequest>(data, size, &v1::DeleteCampaignRequest::campaign_id,
                                  "campaign_id");
  Apply(data, size);
  ById<v1::GetApplicationRequest>(data, size, &v1::GetApplicationRequest::application_id,
                                  "application_id");
  ListApplications(data, size);
  ById<v1::CancelApplicationRequest>(data, size, &v1::CancelApplicationRequest::application_id,
                                     "application_id");
  ById<v1::ConfirmApplicationRequest>(data, size, &v1::ConfirmApplicationRequest::application_id,
                                      "application_id");
  ById<v1::ReleaseApplicationRequest>(data, size, &v1::ReleaseApplicationRequest::application_id,
                                      "application_id");
  ById<v1::WatchApplicationRequest>(data, size, &v1::WatchApplicationRequest::application_id,
                                    "application_id");
  ById<v1::RetryApplicationRequest>(data, size, &v1::RetryApplicationRequest::application_id,
                                    "application_id");
  ById<v1::RetryFailedApplicationsRequest>(
      data, size, &v1::RetryFailedApplicationsRequest::campaign_id, "campaign_id");
  GetQueueStats(data, size);
  return 0;
}
