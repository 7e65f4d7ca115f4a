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

absl::StatusOr<CampaignQueueService::Call> CampaignQueueService::Begin(
    const grpc::ServerContextBase& context, security::Method method) {
  absl::StatusOr<Call> call = Authorize(context, method);
  if (!call.ok()) return call.status();
  if (absl::Status admitted = Admit(*call, method, 1); !admitted.ok()) return admitted;
  return call;
}

absl::StatusOr<CampaignQueueService::Call> CampaignQueueService::Authorize(
    const grpc::ServerContextBase& context, security::Method method) {
  absl::StatusOr<Principal> principal = authorizer_->Authorize(context, method);
  if (!principal.ok()) return principal.status();
  Call call;
  call.principal = *std::move(principal);
  // Anonymous callers (loopback without auth) are told apart by address.
  call.limits_key = call.principal.anonymous ? PeerKey(context) : call.principal.name;
  call.deadline = limits_->CallDeadline(context);
  return call;
}

absl::Status CampaignQueueService::Admit(const Call& call, security::Method method, int tokens) {
  const bool applies = method == Method::kApply || method == Method::kApplyBatch;
  return limits_->Admit(applies, call.limits_key, tokens);
}

// The ownership check of the "own only" cells. Must answer exactly like the
// store for a missing id (CampaignStore::GetApplication's NOT_FOUND), so
// that an applicant cannot tell another user's application from none; the
// authorization matrix test compares the two.
absl::StatusOr<v1::Application> CampaignQueueService::OwnApplication(const Call& call,
                                                                     int64_t application_id) {
  absl::StatusOr<v1::Application> application =
      store_->GetApplication(application_id, call.deadline);
  if (application.ok() && !security::MayActForUser(call.principal, application->user_id())) {
    return store::ApplicationNotFound(application_id);
  }
  return application;
}

// Every handler begins so: the call, or the status that ends it.
#define CAMPAIGNQ_BEGIN_CALL(call, method)                      \
  absl::StatusOr<Call> call##_or = Begin(*context, method);     \
  if (!call##_or.ok()) return ToGrpcStatus(call##_or.status()); \
  const Call& call = *call##_or

grpc::Status CampaignQueueService::CreateCampaign(grpc::ServerContext* context,
                                                  const v1::CreateCampaignRequest* request,
                                                  v1::Campaign* response) {
  CAMPAIGNQ_BEGIN_CALL(call, Method::kCreateCampaign);
  return Reply(store_->CreateCampaign(*request, call.deadline), response);
}

grpc::Status CampaignQueueService::GetCampaign(grpc::ServerContext* context,
                                               const v1::GetCampaignRequest* request,
                                               v1::Campaign* response) {
  CAMPAIGNQ_BEGIN_CALL(call, Method::kGetCampaign);
  return Reply(store_->GetCampaign(request->campaign_id(), call.deadline), response);
}

grpc::Status CampaignQueueService::ListCampaigns(grpc::ServerContext* context,
                                                 const v1::ListCampaignsRequest* request,
                                                 v1::ListCampaignsResponse* response) {
  CAMPAIGNQ_BEGIN_CALL(call, Method::kListCampaigns);
  return Reply(store_->ListCampaigns(*request, call.deadline), response);
}

grpc::Status CampaignQueueService::CloseCampaign(grpc::ServerContext* context,
                                                 const v1::CloseCampaignRequest* request,
                                                 v1::Campaign* response) {
  CAMPAIGNQ_BEGIN_CALL(call, Method::kCloseCampaign);
  return Reply(store_->CloseCampaign(request->campaign_id(), call.deadline), response);
}

grpc::Status CampaignQueueService::PauseCampaign(grpc::ServerContext* context,
                                                 const v1::PauseCampaignRequest* request,
                                                 v1::Campaign* response) {
  CAMPAIGNQ_BEGIN_CALL(call, Method::kPauseCampaign);
  return Reply(store_->PauseCampaign(request->campaign_id(), call.deadline), response);
}

grpc::Status CampaignQueueService::ResumeCampaign(grpc::ServerContext* context,
                                                  const v1::ResumeCampaignRequest* request,
                                                  v1::Campaign* response) {
  CAMPAIGNQ_BEGIN_CALL(call, Method::kResumeCampaign);
  return Reply(store_->ResumeCampaign(request->campaign_id(), call.deadline), response);
}

grpc::Status CampaignQueueService::DeleteCampaign(grpc::ServerContext* context,
                                                  const v1::DeleteCampaignRequest* request,
                                                  v1::DeleteCampaignResponse* response) {
  CAMPAIGNQ_BEGIN_CALL(call, Method::kDeleteCampaign);
  absl::StatusOr<int64_t> deleted = store_->DeleteCampaign(request->campaign_id(), call.deadline);
  if (!deleted.ok()) return ToGrpcStatus(deleted.status());
  response->set_deleted_applications(*deleted);
  return grpc::Status::OK;
}

grpc::ServerUnaryReactor* CampaignQueueService::Apply(grpc::CallbackServerContext* context,
                                                      const grpc::ByteBuffer* request_bytes,
                                                      grpc::ByteBuffer* response) {
  // The default reactor lives in the call's arena; Finish may come from any
  // thread, here or the batcher's.
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  v1::ApplyRequest request;
  // Parsing reads the bytes without consuming them, but takes a mutable
  // buffer: a copy shares the same slices.
  grpc::ByteBuffer bytes(*request_bytes);
  if (grpc::Status parsed =
          grpc::SerializationTraits<v1::ApplyRequest>::Deserialize(&bytes, &request);
      !parsed.ok()) {
    reactor->Finish(parsed);  // as a sync handler answers (see the header)
    return reactor;
  }
  absl::StatusOr<Call> call = Begin(*context, Method::kApply);
  if (!call.ok()) {
    reactor->Finish(ToGrpcStatus(call.status()));
    return reactor;
  }
  // The request names the user id, so refusing it reveals nothing.
  if (!security::MayActForUser(call->principal, request.user_id())) {
    reactor->Finish(
        ToGrpcStatus(absl::PermissionDeniedError("an applicant may only apply as its own user")));
    return reactor;
  }
  // Runs on a batcher thread after COMMIT (or here, for a request refused at
  // once): only redacts, serializes and hands the reply to gRPC. The caller
  // shares the Apply queue under the key its rate limit has.
  store_->ApplyAsync(
      request.campaign_id(), std::move(*request.mutable_user_id()), call->deadline,
      [reactor, response,
       principal = std::move(call->principal)](absl::StatusOr<v1::Application> result) {
        if (!result.ok()) {
          reactor->Finish(ToGrpcStatus(result.status()));
          return;
        }
        security::RedactApplication(principal, &*result);
        bool own_buffer;
        reactor->Finish(
            grpc::SerializationTraits<v1::Application>::Serialize(*result, response, &own_buffer));
      },
      std::move(call->limits_key));
  return reactor;
}

grpc::Status CampaignQueueService::GetApplication(grpc::ServerContext* context,
                                                  const v1::GetApplicationRequest* request,
                                                  v1::Application* response) {
  CAMPAIGNQ_BEGIN_CALL(call, Method::kGetApplication);
  absl::StatusOr<store::ApplicationInLine> read =
      store_->GetApplicationInLine(request->application_id(), call.deadline);
  if (!read.ok()) return ToGrpcStatus(read.status());
  // As OwnApplication: another user's application answers as a missing one.
  if (!security::MayActForUser(call.principal, read->application.user_id())) {
    return ToGrpcStatus(store::ApplicationNotFound(request->application_id()));
  }
  SetPlaceInLine(*read, &wait_estimator_, &read->application);
  return ReplyApplication(call.principal, std::move(read->application), response);
}

grpc::Status CampaignQueueService::ListApplications(grpc::ServerContext* context,
                                                    const v1::ListApplicationsRequest* request,
                                                    v1::ListApplicationsResponse* response) {
  CAMPAIGNQ_BEGIN_CALL(call, Method::kListApplications);
  v1::ListApplicationsRequest bounded = *request;
  if (std::string own = security::ForcedUserFilter(call.principal); !own.empty()) {
    bounded.set_user_id(std::move(own));
  }
  absl::StatusOr<v1::ListApplicationsResponse> result =
      store_->ListApplications(bounded, call.deadline);
  if (result.ok()) {
    for (v1::Application& application : *result->mutable_applications()) {
      security::RedactApplication(call.principal, &application);
    }
  }
  return Reply(std::move(result), response);
}

template <typename Act>
grpc::Status CampaignQueueService::ActOnOwnApplication(const Call& call, int64_t application_id,
                                                       Act act, v1::Application* response) {
  // An application's user id never changes, so checking it before the
  // store's own transaction leaves no gap.
  if (absl::StatusOr<v1::Application> own = OwnApplication(call, application_id); !own.ok()) {
    return ToGrpcStatus(own.status());
  }
  return ReplyApplication(call.principal, act(application_id, call.deadline), response);
}

grpc::Status CampaignQueueService::CancelApplication(grpc::ServerContext* context,
                                                     const v1::CancelApplicationRequest* request,
                                                     v1::Application* response) {
  CAMPAIGNQ_BEGIN_CALL(call, Method::kCancelApplication);
  return ActOnOwnApplication(
      call, request->application_id(),
      [this](int64_t id, absl::Time deadline) { return store_->CancelApplication(id, deadline); },
      response);
}

grpc::Status CampaignQueueService::ConfirmApplication(grpc::ServerContext* context,
                                                      const v1::ConfirmApplicationRequest* request,
                                                      v1::Application* response) {
  CAMPAIGNQ_BEGIN_CALL(call, Method::kConfirmApplication);
  return ActOnOwnApplication(
      call, request->application_id(),
      [this](int64_t id, absl::Time deadline) { return store_->ConfirmApplication(id, deadline); },
      response);
}

grpc::Status CampaignQueueService::ReleaseApplication(grpc::ServerContext* context,
                                                      const v1::ReleaseApplicationRequest* request,
                                                      v1::Application* response) {
  CAMPAIGNQ_BEGIN_CALL(call, Method::kReleaseApplication);
  return ActOnOwnApplication(
      call, request->application_id(),
      [this](int64_t id, absl::Time deadline) { return store_->ReleaseApplication(id, deadline); },
      response);
}

grpc::Status CampaignQueueService::RetryApplication(grpc::ServerContext* context,
                                                    const v1::RetryApplicationRequest* request,
                                                    v1::Application* response) {
  CAMPAIGNQ_BEGIN_CALL(call, Method::kRetryApplication);
  return ReplyApplication(
      call.principal, store_->RetryApplication(request->application_id(), call.deadline), response);
}

grpc::Status CampaignQueueService::RetryFailedApplications(
    grpc::ServerContext* context, const v1::RetryFailedApplicationsRequest* request,
    v1::RetryFailedApplicationsResponse* response) {
  CAMPAIGNQ_BEGIN_CALL(call, Method::kRetryFailedApplications);
  absl::StatusOr<int64_t> retried =
      store_->RetryFailedApplications(request->campaign_id(), call.deadline);
  if (!retried.ok()) return ToGrpcStatus(retried.status());
  response->set_retried(*retried);
  return grpc::Status::OK;
}

grpc::Status CampaignQueueService::WatchApplication(grpc::ServerContext* context,
                                                    const v1::WatchApplicationRequest* request,
                                                    grpc::ServerWriter<v1::Application>* writer) {
  CAMPAIGNQ_BEGIN_CALL(call, Method::kWatchApplication);
  if (absl::StatusOr<v1::Application> own = OwnApplication(call, request->application_id());
      !own.ok()) {
    return ToGrpcStatus(own.status());
  }
  RedactingWriter redacting(&call.principal, writer);
  return server::WatchApplication(store_, listener_, &wait_estimator_, context,
                                  request->application_id(), &redacting, limits_, call.limits_key);
}

grpc::Status CampaignQueueService::GetQueueStats(grpc::ServerContext* context,
                                                 const v1::GetQueueStatsRequest* request,
                                                 v1::QueueStats* response) {
  CAMPAIGNQ_BEGIN_CALL(call, Method::kGetQueueStats);
  // An explicit zero or negative threshold is the store's INVALID_ARGUMENT.
  const std::chrono::microseconds threshold =
      request->has_stall_threshold()
          ? std::chrono::microseconds(google::protobuf::util::TimeUtil::DurationToMicroseconds(
                request->stall_threshold()))
          : kDefaultStallThreshold;
  return Reply(store_->GetQueueStats(threshold, {request->page_size(), request->page_token()},
                                     call.deadline),
               response);
}

#undef CAMPAIGNQ_BEGIN_CALL

}  // namespace campaignq::server
