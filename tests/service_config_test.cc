// The published retry policy (proto/service_config.json): it names only RPCs
// the proto has, retries only UNAVAILABLE, leaves out the calls a retry could
// repeat (CreateCampaign without its request_id, DeleteCampaign, the
// dead-letter retries), and the CLI's channels (client/rpc.cc) really retry
// with it, against an in-process server that answers UNAVAILABLE.

#include "campaignq/v1/service_config.h"

#include <google/protobuf/descriptor.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <set>
#include <string>

#include "campaignq/v1/campaignq.grpc.pb.h"
#include "client/rpc.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace campaignq {
namespace {

constexpr char kService[] = "campaignq.v1.CampaignQueue";

// Parsed once; kept alive, as the loops below iterate over its members.
const nlohmann::json& Config() {
  static const nlohmann::json* config =
      new nlohmann::json(nlohmann::json::parse(v1::kServiceConfigJson));
  return *config;
}

std::set<std::string> RetriedMethods() {
  std::set<std::string> methods;
  for (const nlohmann::json& config : Config().at("methodConfig")) {
    for (const nlohmann::json& name : config.at("name")) {
      methods.insert(name.at("service").get<std::string>() + "/" +
                     name.value("method", std::string("*")));
    }
  }
  return methods;
}

TEST(ServiceConfig, NamesOnlyMethodsOfTheProto) {
  // The compiled proto's descriptor.
  const google::protobuf::ServiceDescriptor* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(kService);
  ASSERT_NE(service, nullptr);
  const std::set<std::string> methods = RetriedMethods();
  ASSERT_FALSE(methods.empty());
  for (const nlohmann::json& config : Config().at("methodConfig")) {
    for (const nlohmann::json& name : config.at("name")) {
      // A name without a method would cover every method, CreateCampaign too.
      ASSERT_TRUE(name.contains("method")) << name.dump();
      EXPECT_EQ(name.at("service"), kService) << name.dump();
      EXPECT_NE(service->FindMethodByName(name.at("method").get<std::string>()), nullptr)
          << name.dump() << " is not an RPC of " << kService;
    }
  }
}

TEST(ServiceConfig, RetriesOnlyUnavailableAndOnlyCallsSafeToRepeat) {
  for (const nlohmann::json& config : Config().at("methodConfig")) {
    const nlohmann::json& policy = config.at("retryPolicy");
    EXPECT_EQ(policy.at("retryableStatusCodes"), nlohmann::json::array({"UNAVAILABLE"}));
    EXPECT_LE(policy.at("maxAttempts").get<int>(), 5);  // gRPC's own cap
  }
  EXPECT_TRUE(Config().contains("retryThrottling"));
  const std::set<std::string> methods = RetriedMethods();
  // A retry of these after a lost reply creates a second campaign (without
  // request_id) or answers NOT_FOUND / FAILED_PRECONDITION / 0 for work that
  // was done: their callers decide.
  for (const char* unsafe :
       {"CreateCampaign", "DeleteCampaign", "RetryApplication", "RetryFailedApplications"}) {
    EXPECT_EQ(methods.count(std::string(kService) + "/" + unsafe), 0u) << unsafe;
  }
  // Apply is keyed by (campaign_id, user_id): a retry of one that landed is
  // ALREADY_EXISTS naming it. The reads are reads.
  for (const char* safe : {"Apply", "GetApplication", "WatchApplication", "ListApplications"}) {
    EXPECT_EQ(methods.count(std::string(kService) + "/" + safe), 1u) << safe;
  }
}

// Answers UNAVAILABLE to the first `failures` calls of each RPC, then OK.
class FlakyService final : public v1::CampaignQueue::Service {
 public:
  explicit FlakyService(int failures) : failures_(failures) {}
  grpc::Status GetCampaign(grpc::ServerContext*, const v1::GetCampaignRequest* request,
                           v1::Campaign* campaign) override {
    if (get_calls_.fetch_add(1) < failures_) return Unavailable();
    campaign->set_id(request->campaign_id());
    return grpc::Status::OK;
  }
  grpc::Status CreateCampaign(grpc::ServerContext*, const v1::CreateCampaignRequest*,
                              v1::Campaign* campaign) override {
    if (create_calls_.fetch_add(1) < failures_) return Unavailable();
    campaign->set_id(1);
    return grpc::Status::OK;
  }
  int get_calls() const { return get_calls_.load(); }
  int create_calls() const { return create_calls_.load(); }

 private:
  static grpc::Status Unavailable() {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the database is unreachable");
  }
  const int failures_;
  std::atomic<int> get_calls_{0};
  std::atomic<int> create_calls_{0};
};

class CliChannelRetries : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
  }
  void TearDown() override { server_->Shutdown(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  FlakyService service_{2};
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(CliChannelRetries, ReadIsRetriedThroughUnavailable) {
  auto stub = v1::CampaignQueue::NewStub(client::MakeChannel(address()));
  grpc::ClientContext context;
  client::SetTimeout(&context, absl::Seconds(20));
  v1::GetCampaignRequest request;
  request.set_campaign_id(7);
  v1::Campaign campaign;
  const grpc::Status status = stub->GetCampaign(&context, request, &campaign);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(campaign.id(), 7);
  EXPECT_EQ(service_.get_calls(), 3);
}

TEST_F(CliChannelRetries, CreateCampaignIsNotRetriedOnTheTokenChannel) {
  client::ConnectOptions connect;
  connect.token = "a-token";  // the other MakeChannel: interceptors, same arguments
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = client::MakeChannel(address(), connect);
  ASSERT_TRUE(channel.ok()) << channel.status();
  auto stub = v1::CampaignQueue::NewStub(*channel);
  grpc::ClientContext context;
  client::SetTimeout(&context, absl::Seconds(20));
  v1::CreateCampaignRequest request;
  request.set_name("once");
  v1::Campaign campaign;
  const grpc::Status status = stub->CreateCampaign(&context, request, &campaign);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_EQ(service_.create_calls(), 1);

  // The same channel retries a read: the config is there, it names no
  // CreateCampaign.
  grpc::ClientContext read_context;
  client::SetTimeout(&read_context, absl::Seconds(20));
  v1::GetCampaignRequest read;
  read.set_campaign_id(1);
  const grpc::Status read_status = stub->GetCampaign(&read_context, read, &campaign);
  EXPECT_TRUE(read_status.ok()) << read_status.error_message();
  EXPECT_EQ(service_.get_calls(), 3);
}

}  // namespace
}  // namespace campaignq
