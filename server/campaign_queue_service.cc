#include "server/campaign_queue_service.h"

#include <google/protobuf/util/time_util.h>

#include <chrono>
#include <utility>

#include "server/application_watch.h"
#include "server/status_mapping.h"

namespace campaignq::server {
namespace {

// GetQueueStatsRequest.stall_threshold when unset (documented in the proto).
constexpr std::chrono::microseconds kDefaultStallThreshold = std::chrono::seconds(30);

template <typename T>
grpc::Status Reply(absl::StatusOr<T> result, T* response) {
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

}  // namespace

grpc::Status CampaignQueueService::CreateCampaign(grpc::ServerContext* /*context*/,
                                                  const v1::CreateCampaignRequest* request,
                                                  v1::Campaign* response) {
  return Reply(store_->CreateCampaign(*request), response);
}

grpc::Status CampaignQueueService::GetCampaign(grpc::ServerContext* /*context*/,
                                               const v1::GetCampaignRequest* request,
                                               v1::Campaign* response) {
  return Reply(store_->GetCampaign(request->campaign_id()), response);
}

grpc::Status CampaignQueueService::ListCampaigns(grpc::ServerContext* /*context*/,
                                                 const v1::ListCampaignsRequest* request,
                                                 v1::ListCampaignsResponse* response) {
  return Reply(store_->ListCampaigns(*request), response);
}

grpc::Status CampaignQueueService::CloseCampaign(grpc::ServerContext* /*context*/,
                                                 const v1::CloseCampaignRequest* request,
                                                 v1::Campaign* response) {
  return Reply(store_->CloseCampaign(request->campaign_id()), response);
}

grpc::Status CampaignQueueService::Apply(grpc::ServerContext* /*context*/,
                                         const v1::ApplyRequest* request,
                                         v1::Application* response) {
  return Reply(store_->Apply(*request), response);
}

grpc::Status CampaignQueueService::GetApplication(grpc::ServerContext* /*context*/,
                                                  const v1::GetApplicationRequest* request,
                                                  v1::Application* response) {
  return Reply(store_->GetApplication(request->application_id()), response);
}

grpc::Status CampaignQueueService::ListApplications(grpc::ServerContext* /*context*/,
                                                    const v1::ListApplicationsRequest* request,
                                                    v1::ListApplicationsResponse* response) {
  return Reply(store_->ListApplications(*request), response);
}

grpc::Status CampaignQueueService::CancelApplication(grpc::ServerContext* /*context*/,
                                                     const v1::CancelApplicationRequest* request,
                                                     v1::Application* response) {
  return Reply(store_->CancelApplication(request->application_id()), response);
}

grpc::Status CampaignQueueService::WatchApplication(grpc::ServerContext* context,
                                                    const v1::WatchApplicationRequest* request,
                                                    grpc::ServerWriter<v1::Application>* writer) {
  return server::WatchApplication(store_, listener_, context, request->application_id(), writer);
}

grpc::Status CampaignQueueService::GetQueueStats(grpc::ServerContext* /*context*/,
                                                 const v1::GetQueueStatsRequest* request,
                                                 v1::QueueStats* response) {
  // An explicit zero or negative threshold is the store's INVALID_ARGUMENT.
  const std::chrono::microseconds threshold =
      request->has_stall_threshold()
          ? std::chrono::microseconds(google::protobuf::util::TimeUtil::DurationToMicroseconds(
                request->stall_threshold()))
          : kDefaultStallThreshold;
  return Reply(store_->GetQueueStats(threshold), response);
}

}  // namespace campaignq::server
