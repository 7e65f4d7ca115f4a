// The limits as campaignq-server runs them (ServerStack: every handler
// admits the call through its caller's token bucket and passes the call's
// capped deadline to the store), against the test PostgreSQL.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <pqxx/pqxx>
#include <string>

#include "absl/strings/str_cat.h"
#include "campaignq/v1/campaignq.grpc.pb.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "server/server_stack.h"
#include "support/poll.h"
#include "support/test_postgres.h"

namespace campaignq::server {
namespace {

constexpr char kServerApplicationName[] = "campaignq-server";

const std::string& DatabaseUrl() {
  static const std::string* url = new std::string(testing::FreshDatabaseUrl("limits_service"));
  return *url;
}

std::unique_ptr<ServerStack> StartStack(const LimitOptions& limits) {
  ServerOptions options;
  options.process.database_url = DatabaseUrl();
  options.listen = "127.0.0.1:0";
  options.pool_size = 4;
  options.shutdown_grace = absl::Seconds(5);
  options.limits = limits;
  auto stack = std::make_unique<ServerStack>(options);
  absl::StatusOr<int> port = stack->Start();
  EXPECT_TRUE(port.ok()) << port.status();
  return port.ok() ? std::move(stack) : nullptr;
}

std::unique_ptr<v1::CampaignQueue::Stub> StubOf(const ServerStack& stack) {
  return v1::CampaignQueue::NewStub(
      grpc::CreateChannel(stack.address(), grpc::InsecureChannelCredentials()));
}

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return context;
}

int64_t BlockedServerStatements() {
  pqxx::connection connection(DatabaseUrl());
  pqxx::nontransaction txn(connection);
  return txn
      .exec_params(
          "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 "
          "AND wait_event_type = 'Lock'",
          kServerApplicationName)[0][0]
      .as<int64_t>();
}

TEST(LimitsServiceDbTest, SlowSqlPastTheServersDeadlineCapIsDeadlineExceededAndStops) {
  LimitOptions limits;
  limits.max_call_deadline = absl::Milliseconds(500);
  std::unique_ptr<ServerStack> stack = StartStack(limits);
  ASSERT_NE(stack, nullptr);
  auto stub = StubOf(*stack);
  v1::CreateCampaignRequest create;
  create.set_name(absl::StrCat("campaign-", getpid()));
  v1::Campaign campaign;
  ASSERT_TRUE(stub->CreateCampaign(Context().get(), create, &campaign).ok());

  pqxx::connection locker(DatabaseUrl());
  pqxx::work locked(locker);
  locked.exec("LOCK TABLE campaigns IN ACCESS EXCLUSIVE MODE");
  grpc::ClientContext context;  // no deadline: the server's cap applies
  v1::GetCampaignRequest get;
  get.set_campaign_id(campaign.id());
  const grpc::Status status = stub->GetCampaign(&context, get, &campaign);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << status.error_message();
  EXPECT_TRUE(testing::PollUntil([] { return BlockedServerStatements() == 0; },
                                 testing::Deadline(std::chrono::seconds(10))));
}

TEST(LimitsServiceDbTest, CallsOverTheCallersRateAreResourceExhaustedWithRetryInfo) {
  LimitOptions limits;
  limits.call_rate = {/*per_second=*/0.01, /*burst=*/2};
  limits.apply_rate = {/*per_second=*/0.01, /*burst=*/1};
  std::unique_ptr<ServerStack> stack = StartStack(limits);
  ASSERT_NE(stack, nullptr);
  auto stub = StubOf(*stack);
  v1::ListCampaignsRequest list;
  v1::ListCampaignsResponse page;
  EXPECT_TRUE(stub->ListCampaigns(Context().get(), list, &page).ok());
  EXPECT_TRUE(stub->ListCampaigns(Context().get(), list, &page).ok());
  const grpc::Status limited = stub->ListCampaigns(Context().get(), list, &page);
  ASSERT_EQ(limited.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << limited.error_message();
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(limited.error_details()));
  bool retry_info = false;
  for (const auto& any : details.details()) {
    google::rpc::RetryInfo retry;
    if (any.UnpackTo(&retry)) retry_info = retry.retry_delay().seconds() >= 99;
  }
  EXPECT_TRUE(retry_info);

  // Apply has its own bucket: not empty yet.
  v1::ApplyRequest apply;
  apply.set_campaign_id(1);
  apply.set_user_id("u");
  v1::Application application;
  const grpc::Status applied = stub->Apply(Context().get(), apply, &application);
  EXPECT_NE(applied.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << applied.error_message();
}

}  // namespace
}  // namespace campaignq::server
