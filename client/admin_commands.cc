#include "client/admin_commands.h"

#include <cstdint>
#include <iostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/format.h"
#include "client/rpc.h"

namespace campaignq::client {
namespace {

template <typename Request, typename Call>
int CampaignCall(Stub& stub, const CliOptions& o, const char* command, Call call) {
  int code = kExitOk;
  Request request;
  int64_t id = 0;
  if (!IdArgument(o, command, "campaign", o.campaign, &id, &code)) return code;
  request.set_campaign_id(id);
  grpc::ClientContext context;
  SetTimeout(&context, o.rpc_timeout);
  v1::Campaign campaign;
  grpc::Status status = call(stub, &context, request, &campaign);
  if (!status.ok()) return ReportRpcError(status, o.json);
  std::cout << (o.json ? ToJson(campaign) : CampaignText(campaign)) << "\n";
  return kExitOk;
}

}  // namespace

int RunPauseCampaign(Stub& stub, const CliOptions& o) {
  return CampaignCall<v1::PauseCampaignRequest>(
      stub, o, "pause-campaign",
      [](Stub& s, grpc::ClientContext* c, const v1::PauseCampaignRequest& r, v1::Campaign* out) {
        return s.PauseCampaign(c, r, out);
      });
}

int RunResumeCampaign(Stub& stub, const CliOptions& o) {
  return CampaignCall<v1::ResumeCampaignRequest>(
      stub, o, "resume-campaign",
      [](Stub& s, grpc::ClientContext* c, const v1::ResumeCampaignRequest& r, v1::Campaign* out) {
        return s.ResumeCampaign(c, r, out);
      });
}

int RunDeleteCampaign(Stub& stub, const CliOptions& o) {
  int code = kExitOk;
  int64_t id = 0;
  if (!IdArgument(o, "delete-campaign", "campaign", o.campaign, &id, &code)) return code;
  v1::DeleteCampaignRequest request;
  request.set_campaign_id(id);
  grpc::ClientContext context;
  SetTimeout(&context, o.rpc_timeout);
  v1::DeleteCampaignResponse response;
  grpc::Status status = stub.DeleteCampaign(&context, request, &response);
  if (!status.ok()) return ReportRpcError(status, o.json);
  if (o.json) {
    std::cout << ToJson(response) << "\n";
  } else {
    std::cout << "deleted campaign " << id << " with " << response.deleted_applications()
              << " applications\n";
  }
  return kExitOk;
}

int RunRetryApplication(Stub& stub, const CliOptions& o) {
  int code = kExitOk;
  int64_t id = 0;
  if (!IdArgument(o, "retry", "application", o.application, &id, &code)) return code;
  v1::RetryApplicationRequest request;
  request.set_application_id(id);
  grpc::ClientContext context;
  SetTimeout(&context, o.rpc_timeout);
  v1::Application application;
  grpc::Status status = stub.RetryApplication(&context, request, &application);
  if (!status.ok()) return ReportRpcError(status, o.json);
  std::cout << (o.json ? ToJson(application) : ApplicationText(application)) << "\n";
  return kExitOk;
}

int RunRetryFailed(Stub& stub, const CliOptions& o) {
  if (o.campaign <= 0) {
    return ReportUsageError("retry-failed needs --campaign=ID (a positive id)", o.json);
  }
  if (!o.args.empty()) {
    return ReportUsageError(absl::StrCat("unexpected argument: ", o.args[0]), o.json);
  }
  v1::RetryFailedApplicationsRequest request;
  request.set_campaign_id(o.campaign);
  grpc::ClientContext context;
  SetTimeout(&context, o.rpc_timeout);
  v1::RetryFailedApplicationsResponse response;
  grpc::Status status = stub.RetryFailedApplications(&context, request, &response);
  if (!status.ok()) return ReportRpcError(status, o.json);
  if (o.json) {
    std::cout << ToJson(response) << "\n";
  } else {
    std::cout << "retried " << response.retried() << " failed applications of campaign "
              << o.campaign << "\n";
  }
  return kExitOk;
}

}  // namespace campaignq::client
