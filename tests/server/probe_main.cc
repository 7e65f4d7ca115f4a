// campaignq-server-probe ADDRESS COMMAND [ARGS]: one call to a running
// server, printed as text; exit status 0 on OK, else 10 + the gRPC code.
// For checking a server by hand where grpcurl is not available.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "campaignq/v1/campaignq.grpc.pb.h"
#include "grpc_probe.h"

namespace {

using campaignq::v1::CampaignQueue;

int Report(const grpc::Status& status, const google::protobuf::Message* message) {
  if (status.ok() && message != nullptr) std::printf("%s\n", message->ShortDebugString().c_str());
  std::printf("status: %d %s\n", status.error_code(), status.error_message().c_str());
  return status.ok() ? 0 : 10 + status.error_code();
}

int64_t Int(const char* text) { return std::strtoll(text, nullptr, 10); }

int Usage() {
  std::fprintf(stderr,
               "usage: campaignq-server-probe ADDRESS COMMAND\n"
               "  health [SERVICE] | reflect | create NAME [CAP [WAITLIST]] | get-campaign ID\n"
               "  list-campaigns PAGE_SIZE [TOKEN] | close ID | apply CAMPAIGN USER | get-app ID\n"
               "  list-apps CAMPAIGN | cancel ID | stats [STALL_SECONDS] | watch ID [SECONDS]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return Usage();
  auto channel = grpc::CreateChannel(argv[1], grpc::InsecureChannelCredentials());
  const std::string command = argv[2];
  const int n = argc - 3;
  char** args = argv + 3;
  auto stub = CampaignQueue::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));

  if (command == "health") {
    auto status = campaignq::server_test::CheckHealth(channel.get(), n > 0 ? args[0] : "");
    std::printf("%s\n", status.ok() ? status->c_str() : status.status().ToString().c_str());
    return status.ok() && *status == "SERVING" ? 0 : 1;
  }
  if (command == "reflect") {
    auto names = campaignq::server_test::ListServicesByReflection(channel.get());
    if (!names.ok()) return std::printf("%s\n", names.status().ToString().c_str()), 1;
    for (const std::string& name : *names) std::printf("%s\n", name.c_str());
    return 0;
  }
  if (command == "create" && n >= 1) {
    campaignq::v1::CreateCampaignRequest request;
    request.set_name(args[0]);
    if (n >= 2) request.set_max_participants(static_cast<int32_t>(Int(args[1])));
    if (n >= 3) request.set_waitlist(Int(args[2]) != 0);
    campaignq::v1::Campaign response;
    return Report(stub->CreateCampaign(&context, request, &response), &response);
  }
  if (command == "get-campaign" && n == 1) {
    campaignq::v1::GetCampaignRequest request;
    request.set_campaign_id(Int(args[0]));
    campaignq::v1::Campaign response;
    return Report(stub->GetCampaign(&context, request, &response), &response);
  }
  if (command == "list-campaigns" && n >= 1) {
    campaignq::v1::ListCampaignsRequest request;
    request.set_page_size(static_cast<int32_t>(Int(args[0])));
    if (n >= 2) request.set_page_token(args[1]);
    campaignq::v1::ListCampaignsResponse response;
    return Report(stub->ListCampaigns(&context, request, &response), &response);
  }
  if (command == "close" && n == 1) {
    campaignq::v1::CloseCampaignRequest request;
    request.set_campaign_id(Int(args[0]));
    campaignq::v1::Campaign response;
    return Report(stub->CloseCampaign(&context, request, &response), &response);
  }
  if (command == "apply" && n == 2) {
    campaignq::v1::ApplyRequest request;
    request.set_campaign_id(Int(args[0]));
    request.set_user_id(args[1]);
    campaignq::v1::Application response;
    return Report(stub->Apply(&context, request, &response), &response);
  }
  if (command == "get-app" && n == 1) {
    campaignq::v1::GetApplicationRequest request;
    request.set_application_id(Int(args[0]));
    campaignq::v1::Application response;
    return Report(stub->GetApplication(&context, request, &response), &response);
  }
  if (command == "list-apps" && n == 1) {
    campaignq::v1::ListApplicationsRequest request;
    request.set_campaign_id(Int(args[0]));
    campaignq::v1::ListApplicationsResponse response;
    return Report(stub->ListApplications(&context, request, &response), &response);
  }
  if (command == "cancel" && n == 1) {
    campaignq::v1::CancelApplicationRequest request;
    request.set_application_id(Int(args[0]));
    campaignq::v1::Application response;
    return Report(stub->CancelApplication(&context, request, &response), &response);
  }
  if (command == "stats") {
    campaignq::v1::GetQueueStatsRequest request;
    if (n >= 1) request.mutable_stall_threshold()->set_seconds(Int(args[0]));
    campaignq::v1::QueueStats response;
    return Report(stub->GetQueueStats(&context, request, &response), &response);
  }
  if (command == "watch" && n >= 1) {
    grpc::ClientContext watch_context;
    watch_context.set_deadline(std::chrono::system_clock::now() +
                               std::chrono::seconds(n >= 2 ? Int(args[1]) : 30));
    campaignq::v1::WatchApplicationRequest request;
    request.set_application_id(Int(args[0]));
    auto reader = stub->WatchApplication(&watch_context, request);
    campaignq::v1::Application update;
    while (reader->Read(&update)) {
      std::printf("%s\n", update.ShortDebugString().c_str());
      std::fflush(stdout);
    }
    return Report(reader->Finish(), nullptr);
  }
  return Usage();
}
