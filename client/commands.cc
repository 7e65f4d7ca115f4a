#include "client/commands.h"

#include <iostream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "client/format.h"
#include "client/rpc.h"
#include "common/store/validation.h"
#include "google/protobuf/util/time_util.h"

namespace campaignq::client {
namespace {

void PrintCampaign(const v1::Campaign& c, const CliOptions& o) {
  std::cout << (o.json ? ToJson(c) : CampaignText(c)) << "\n";
}

void PrintApplication(const v1::Application& a, const CliOptions& o) {
  std::cout << (o.json ? ToJson(a) : ApplicationText(a)) << "\n";
}

// Ids must be given and positive; the server would say the same, but a
// usage error names the flag.
bool NeedId(int64_t id, const char* flag, int* exit_code) {
  if (id > 0) return true;
  *exit_code = ReportUsageError(absl::StrCat("--", flag, "=ID is required (a positive id)"));
  return false;
}

int ListCampaigns(Stub& stub, const CliOptions& o) {
  v1::ListCampaignsResponse all;
  v1::ListCampaignsRequest request;
  request.set_page_size(o.page_size);
  do {
    grpc::ClientContext context;
    SetTimeout(&context, o.rpc_timeout);
    v1::ListCampaignsResponse page;
    grpc::Status status = stub.ListCampaigns(&context, request, &page);
    if (!status.ok()) return ReportRpcError(status);
    for (const v1::Campaign& c : page.campaigns()) {
      if (o.json) {
        *all.add_campaigns() = c;
      } else {
        PrintCampaign(c, o);
      }
    }
    request.set_page_token(page.next_page_token());
  } while (!request.page_token().empty());
  // JSON: one document with every page merged, so `jq` sees all of it.
  if (o.json) std::cout << ToJson(all) << "\n";
  return kExitOk;
}

int ListApplications(Stub& stub, const CliOptions& o) {
  v1::ListApplicationsRequest request;
  request.set_campaign_id(o.campaign);
  request.set_page_size(o.page_size);
  if (!o.status.empty()) {
    v1::ApplicationStatus status =
        store::ApplicationStatusFromWord(absl::AsciiStrToLower(o.status));
    if (status == v1::APPLICATION_STATUS_UNSPECIFIED) {
      return ReportUsageError(
          absl::StrCat("--status=", o.status,
                       ": want pending, approved, waitlisted, rejected, cancelled or failed"));
    }
    request.set_status(status);
  }
  v1::ListApplicationsResponse all;
  do {
    grpc::ClientContext context;
    SetTimeout(&context, o.rpc_timeout);
    v1::ListApplicationsResponse page;
    grpc::Status status = stub.ListApplications(&context, request, &page);
    if (!status.ok()) return ReportRpcError(status);
    for (const v1::Application& a : page.applications()) {
      if (o.json) {
        *all.add_applications() = a;
      } else {
        PrintApplication(a, o);
      }
    }
    request.set_page_token(page.next_page_token());
  } while (!request.page_token().empty());
  if (o.json) std::cout << ToJson(all) << "\n";
  return kExitOk;
}

}  // namespace

int RunCreateCampaign(Stub& stub, const CliOptions& o) {
  if (o.name.empty()) return ReportUsageError("create-campaign needs --name=NAME");
  if (o.cap < 0) return ReportUsageError("--cap must be >= 0 (0 = unlimited)");
  v1::CreateCampaignRequest request;
  request.set_name(o.name);
  if (o.cap > 0) request.set_max_participants(o.cap);
  if (o.waitlist) request.set_waitlist(*o.waitlist);
  grpc::ClientContext context;
  SetTimeout(&context, o.rpc_timeout);
  v1::Campaign campaign;
  grpc::Status status = stub.CreateCampaign(&context, request, &campaign);
  if (!status.ok()) return ReportRpcError(status);
  PrintCampaign(campaign, o);
  return kExitOk;
}

int RunApply(Stub& stub, const CliOptions& o) {
  int code = kExitOk;
  if (!NeedId(o.campaign, "campaign", &code)) return code;
  if (o.user.empty()) return ReportUsageError("apply needs --user=USER");
  v1::ApplyRequest request;
  request.set_campaign_id(o.campaign);
  request.set_user_id(o.user);
  grpc::ClientContext context;
  SetTimeout(&context, o.rpc_timeout);
  v1::Application application;
  grpc::Status status = stub.Apply(&context, request, &application);
  if (!status.ok()) return ReportRpcError(status);
  PrintApplication(application, o);
  return kExitOk;
}

int RunGet(Stub& stub, const CliOptions& o) {
  if ((o.application > 0) == (o.campaign > 0)) {
    return ReportUsageError("get needs exactly one of --application=ID or --campaign=ID");
  }
  grpc::ClientContext context;
  SetTimeout(&context, o.rpc_timeout);
  if (o.application > 0) {
    v1::GetApplicationRequest request;
    request.set_application_id(o.application);
    v1::Application application;
    grpc::Status status = stub.GetApplication(&context, request, &application);
    if (!status.ok()) return ReportRpcError(status);
    PrintApplication(application, o);
    return kExitOk;
  }
  v1::GetCampaignRequest request;
  request.set_campaign_id(o.campaign);
  v1::Campaign campaign;
  grpc::Status status = stub.GetCampaign(&context, request, &campaign);
  if (!status.ok()) return ReportRpcError(status);
  PrintCampaign(campaign, o);
  return kExitOk;
}

int RunWatch(Stub& stub, const CliOptions& o) {
  int code = kExitOk;
  if (!NeedId(o.application, "application", &code)) return code;
  v1::WatchApplicationRequest request;
  request.set_application_id(o.application);
  grpc::ClientContext context;
  SetTimeout(&context, o.timeout > absl::ZeroDuration() ? o.timeout : absl::Seconds(30));
  auto reader = stub.WatchApplication(&context, request);
  v1::Application application;
  while (reader->Read(&application)) {
    PrintApplication(application, o);
    std::cout.flush();  // states arrive slowly; show each as it comes
  }
  grpc::Status status = reader->Finish();
  if (!status.ok()) return ReportRpcError(status);
  return kExitOk;
}

int RunList(Stub& stub, const CliOptions& o) {
  if (o.args.size() > 1) return ReportUsageError("list takes at most one argument: campaigns");
  if (o.page_size < 0) return ReportUsageError("--page-size must be >= 0");
  if (!o.args.empty()) {
    if (o.args[0] == "campaigns") return ListCampaigns(stub, o);
    if (o.args[0] != "applications") {
      return ReportUsageError(absl::StrCat("list ", o.args[0],
                                           ": want `list campaigns` or "
                                           "`list [applications] [--campaign=ID]`"));
    }
  }
  return ListApplications(stub, o);
}

int RunCancel(Stub& stub, const CliOptions& o) {
  int code = kExitOk;
  if (!NeedId(o.application, "application", &code)) return code;
  v1::CancelApplicationRequest request;
  request.set_application_id(o.application);
  grpc::ClientContext context;
  SetTimeout(&context, o.rpc_timeout);
  v1::Application application;
  grpc::Status status = stub.CancelApplication(&context, request, &application);
  if (!status.ok()) return ReportRpcError(status);
  PrintApplication(application, o);
  return kExitOk;
}

int RunClose(Stub& stub, const CliOptions& o) {
  int code = kExitOk;
  if (!NeedId(o.campaign, "campaign", &code)) return code;
  v1::CloseCampaignRequest request;
  request.set_campaign_id(o.campaign);
  grpc::ClientContext context;
  SetTimeout(&context, o.rpc_timeout);
  v1::Campaign campaign;
  grpc::Status status = stub.CloseCampaign(&context, request, &campaign);
  if (!status.ok()) return ReportRpcError(status);
  PrintCampaign(campaign, o);
  return kExitOk;
}

int RunStats(Stub& stub, const CliOptions& o) {
  v1::GetQueueStatsRequest request;
  *request.mutable_stall_threshold() = google::protobuf::util::TimeUtil::NanosecondsToDuration(
      absl::ToInt64Nanoseconds(o.stall_threshold));
  grpc::ClientContext context;
  SetTimeout(&context, o.rpc_timeout);
  v1::QueueStats stats;
  grpc::Status status = stub.GetQueueStats(&context, request, &stats);
  if (!status.ok()) return ReportRpcError(status);
  if (o.json) {
    std::cout << ToJson(stats) << "\n";
  } else {
    std::cout << QueueStatsText(stats);
  }
  return kExitOk;
}

}  // namespace campaignq::client
