#include "server/campaign_queue_service.h"

#include <google/protobuf/util/time_util.h>

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/application_watch.h"
#include "server/status_mapping.h"

namespace campaignq::server {
namespace {

using security::Method;
using security::Principal;

// GetQueueStatsRequest.stall_threshold when unset (documented in the proto).
constexpr std::chrono::microseconds kDefaultStallThreshold = std::chrono::seconds(30);

template <typename T>
grpc::Status Reply(absl::StatusOr<T> result, T* response) {
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

grpc::Status ReplyApplication(const Principal& principal, absl::StatusOr<v1::Application> result,
                              v1::Application* response) {
  if (result.ok()) security::RedactApplication(principal, &*result);
  return Reply(std::move(result), response);
}

// Passes a watch's messages on, redacted for the watcher's role.
class RedactingWriter final : public grpc::ServerWriterInterface<v1::Application> {
 public:
  RedactingWriter(const Principal* principal, grpc::ServerWriterInterface<v1::Application>* out)
      : principal_(principal), out_(out) {}
  void SendInitialMetadata() override { out_->SendInitialMetadata(); }
  bool Write(const v1::Application& message, grpc::WriteOptions options) override {
    v1::Application redacted = message;
    security::RedactApplication(*principal_, &redacted);
    return out_->Write(redacted, options);
  }

 private:
  const Principal* principal_;
  grpc::ServerWriterInterface<v1::Application>* out_;
};

}  // namespace

// The ownership check of the "own only" cells. Must answer exactly like the
// store for a missing id (CampaignStore::GetApplication's NOT_FOUND), so
// that an applicant cannot tell another user's application from none; the
// authorization matrix test compares the two.
absl::StatusOr<v1::Application> CampaignQueueService::OwnApplication(const Principal& principal,
                                                                     int64_t application_id) {
  absl::StatusOr<v1::Application> application = store_->GetApplication(application_id);
  if (application.ok() && !security::MayActForUser(principal, application->user_id())) {
    return absl::NotFoundError(absl::StrCat("application ", application_id, " does not exist"));
  }
  return application;
}

grpc::Status CampaignQueueService::CreateCampaign(grpc::ServerContext* context,
                                                  const v1::CreateCampaignRequest* request,
                                                  v1::Campaign* response) {
  absl::StatusOr<Principal> principal = authorizer_->Authorize(*context, Method::kCreateCampaign);
  if (!principal.ok()) return ToGrpcStatus(principal.status());
  return Reply(store_->CreateCampaign(*request), response);
}

grpc::Status CampaignQueueService::GetCampaign(grpc::ServerContext* context,
                                               const v1::GetCampaignRequest* request,
                                               v1::Campaign* response) {
  absl::StatusOr<Principal> principal = authorizer_->Authorize(*context, Method::kGetCampaign);
  if (!principal.ok()) return ToGrpcStatus(principal.status());
  return Reply(store_->GetCampaign(request->campaign_id()), response);
}

grpc::Status CampaignQueueService::ListCampaigns(grpc::ServerContext* context,
                                                 const v1::ListCampaignsRequest* request,
                                                 v1::ListCampaignsResponse* response) {
  absl::StatusOr<Principal> principal = authorizer_->Authorize(*context, Method::kListCampaigns);
  if (!principal.ok()) return ToGrpcStatus(principal.status());
  return Reply(store_->ListCampaigns(*request), response);
}

grpc::Status CampaignQueueService::CloseCampaign(grpc::ServerContext* context,
                                                 const v1::CloseCampaignRequest* request,
                                                 v1::Campaign* response) {
  absl::StatusOr<Principal> principal = authorizer_->Authorize(*context, Method::kCloseCampaign);
  if (!principal.ok()) return ToGrpcStatus(principal.status());
  return Reply(store_->CloseCampaign(request->campaign_id()), response);
}

grpc::Status CampaignQueueService::Apply(grpc::ServerContext* context,
                                         const v1::ApplyRequest* request,
                                         v1::Application* response) {
  absl::StatusOr<Principal> principal = authorizer_->Authorize(*context, Method::kApply);
  if (!principal.ok()) return ToGrpcStatus(principal.status());
  // The request names the user id, so refusing it reveals nothing.
  if (!security::MayActForUser(*principal, request->user_id())) {
    return ToGrpcStatus(absl::PermissionDeniedError("an applicant may only apply as its own user"));
  }
  return ReplyApplication(*principal, store_->Apply(*request), response);
}

grpc::Status CampaignQueueService::GetApplication(grpc::ServerContext* context,
                                                  const v1::GetApplicationRequest* request,
                                                  v1::Application* response) {
  absl::StatusOr<Principal> principal = authorizer_->Authorize(*context, Method::kGetApplication);
  if (!principal.ok()) return ToGrpcStatus(principal.status());
  return ReplyApplication(*principal, OwnApplication(*principal, request->application_id()),
                          response);
}

grpc::Status CampaignQueueService::ListApplications(grpc::ServerContext* context,
                                                    const v1::ListApplicationsRequest* request,
                                                    v1::ListApplicationsResponse* response) {
  absl::StatusOr<Principal> principal = authorizer_->Authorize(*context, Method::kListApplications);
  if (!principal.ok()) return ToGrpcStatus(principal.status());
  v1::ListApplicationsRequest bounded = *request;
  if (std::string own = security::ForcedUserFilter(*principal); !own.empty()) {
    bounded.set_user_id(std::move(own));
  }
  absl::StatusOr<v1::ListApplicationsResponse> result = store_->ListApplications(bounded);
  if (result.ok()) {
    for (v1::Application& application : *result->mutable_applications()) {
      security::RedactApplication(*principal, &application);
    }
  }
  return Reply(std::move(result), response);
}

grpc::Status CampaignQueueService::CancelApplication(grpc::ServerContext* context,
                                                     const v1::CancelApplicationRequest* request,
                                                     v1::Application* response) {
  absl::StatusOr<Principal> principal =
      authorizer_->Authorize(*context, Method::kCancelApplication);
  if (!principal.ok()) return ToGrpcStatus(principal.status());
  // An application's user id never changes, so checking it before the
  // cancel's own transaction leaves no gap.
  if (absl::StatusOr<v1::Application> own = OwnApplication(*principal, request->application_id());
      !own.ok()) {
    return ToGrpcStatus(own.status());
  }
  return ReplyApplication(*principal, store_->CancelApplication(request->application_id()),
                          response);
}

grpc::Status CampaignQueueService::WatchApplication(grpc::ServerContext* context,
                                                    const v1::WatchApplicationRequest* request,
                                                    grpc::ServerWriter<v1::Application>* writer) {
  absl::StatusOr<Principal> principal = authorizer_->Authorize(*context, Method::kWatchApplication);
  if (!principal.ok()) return ToGrpcStatus(principal.status());
  if (absl::StatusOr<v1::Application> own = OwnApplication(*principal, request->application_id());
      !own.ok()) {
    return ToGrpcStatus(own.status());
  }
  RedactingWriter redacting(&*principal, writer);
  return server::WatchApplication(store_, listener_, context, request->application_id(),
                                  &redacting);
}

grpc::Status CampaignQueueService::GetQueueStats(grpc::ServerContext* context,
                                                 const v1::GetQueueStatsRequest* request,
                                                 v1::QueueStats* response) {
  absl::StatusOr<Principal> principal = authorizer_->Authorize(*context, Method::kGetQueueStats);
  if (!principal.ok()) return ToGrpcStatus(principal.status());
  // An explicit zero or negative threshold is the store's INVALID_ARGUMENT.
  const std::chrono::microseconds threshold =
      request->has_stall_threshold()
          ? std::chrono::microseconds(google::protobuf::util::TimeUtil::DurationToMicroseconds(
                request->stall_threshold()))
          : kDefaultStallThreshold;
  return Reply(store_->GetQueueStats(threshold), response);
}

}  // namespace campaignq::server
