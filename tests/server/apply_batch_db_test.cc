// ApplyBatch through a real server (ServerStack) over the test PostgreSQL
// (support/test_postgres.h): each request's own outcome in request order,
// the whole-call errors, the rate limit's cost, the request size bound, and
// durability (the rows are committed when the call returns). No worker runs:
// stored applications stay pending. Names are unique per run.

#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "campaignq/v1/campaignq.grpc.pb.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "server/apply_batch.h"
#include "server/server_stack.h"
#include "support/test_postgres.h"

namespace campaignq::server {
namespace {

// One fresh database for both suites: each server migrates it (idempotent).
const std::string& DatabaseUrl() {
  static const auto* const kUrl = new std::string(testing::FreshDatabaseUrl("apply_batch"));
  return *kUrl;
}

// Names and user ids no other run of the test has used.
std::string Unique(absl::string_view prefix) {
  static std::atomic<int> made{0};
  return absl::StrCat(prefix, "-", absl::ToUnixNanos(absl::Now()), "-", ++made);
}

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  return context;
}

std::unique_ptr<ServerStack> StartStack(const LimitOptions& limits) {
  ServerOptions options;
  options.process.database_url = DatabaseUrl();
  options.listen = "127.0.0.1:0";
  options.limits = limits;
  auto stack = std::make_unique<ServerStack>(options);  // migrates the database
  absl::StatusOr<int> port = stack->Start();
  EXPECT_TRUE(port.ok()) << port.status();
  return stack;
}

// The ErrorInfo of a google.rpc.Status, if it has one.
google::rpc::ErrorInfo ErrorInfoOf(const google::rpc::Status& status) {
  google::rpc::ErrorInfo info;
  for (const auto& any : status.details()) {
    if (any.UnpackTo(&info)) return info;
  }
  return info;
}

// field -> description of a call's BadRequest.
std::map<std::string, std::string> Violations(const grpc::Status& status) {
  google::rpc::Status details;
  std::map<std::string, std::string> out;
  if (!details.ParseFromString(status.error_details())) return out;
  for (const auto& any : details.details()) {
    google::rpc::BadRequest bad;
    if (!any.UnpackTo(&bad)) continue;
    for (const auto& violation : bad.field_violations()) {
      out[violation.field()] = violation.description();
    }
  }
  return out;
}

int64_t StoredApplications(int64_t campaign_id) {
  pqxx::connection connection(DatabaseUrl());
  pqxx::nontransaction txn(connection);
  return txn
      .exec_params("SELECT count(*) FROM applications WHERE campaign_id = $1", campaign_id)[0][0]
      .as<int64_t>();
}

class ApplyBatchDbTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    stack_ = StartStack(LimitOptions()).release();
    channel_ = new std::shared_ptr<grpc::Channel>(
        grpc::CreateChannel(stack_->address(), grpc::InsecureChannelCredentials()));
  }
  static void TearDownTestSuite() {
    delete channel_;
    delete stack_;
  }

  v1::CampaignQueue::Stub Stub() { return v1::CampaignQueue::Stub(*channel_); }

  int64_t NewCampaign(absl::Duration opens_in = absl::ZeroDuration()) {
    v1::CreateCampaignRequest create;
    create.set_name(Unique("campaign"));
    if (opens_in > absl::ZeroDuration()) {
      *create.mutable_opens_at() = google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(
          absl::ToUnixMicros(absl::Now() + opens_in));
    }
    v1::Campaign campaign;
    const grpc::Status status = Stub().CreateCampaign(Context().get(), create, &campaign);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return campaign.id();
  }

  grpc::Status Batch(const std::vector<std::pair<int64_t, std::string>>& items,
                     v1::ApplyBatchResponse* response) {
    v1::ApplyBatchRequest request;
    for (const auto& [campaign, user] : items) {
      v1::ApplyRequest* item = request.add_requests();
      item->set_campaign_id(campaign);
      item->set_user_id(user);
    }
    return Stub().ApplyBatch(Context().get(), request, response);
  }

  static ServerStack* stack_;
  static std::shared_ptr<grpc::Channel>* channel_;
};

ServerStack* ApplyBatchDbTest::stack_ = nullptr;
std::shared_ptr<grpc::Channel>* ApplyBatchDbTest::channel_ = nullptr;

TEST_F(ApplyBatchDbTest, EachRequestGetsItsOwnOutcomeInRequestOrder) {
  const int64_t open = NewCampaign();
  const int64_t closed = NewCampaign();
  {
    v1::CloseCampaignRequest close;
    close.set_campaign_id(closed);
    v1::Campaign campaign;
    ASSERT_TRUE(Stub().CloseCampaign(Context().get(), close, &campaign).ok());
  }
  const int64_t not_open_yet = NewCampaign(absl::Hours(1));
  const std::string earlier = Unique("earlier"), fresh = Unique("fresh"), last = Unique("last");
  v1::Application existing;
  {
    v1::ApplyRequest apply;
    apply.set_campaign_id(open);
    apply.set_user_id(earlier);
    ASSERT_TRUE(Stub().Apply(Context().get(), apply, &existing).ok());
  }
  constexpr int64_t kUnknownCampaign = int64_t{1} << 60;

  v1::ApplyBatchResponse response;
  const grpc::Status status = Batch({{open, fresh},
                                     {open, earlier},
                                     {open, fresh},
                                     {closed, fresh},
                                     {kUnknownCampaign, fresh},
                                     {not_open_yet, fresh},
                                     {open, last}},
                                    &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.results_size(), 7);

  const v1::ApplyBatchResult& created = response.results(0);
  ASSERT_TRUE(created.has_application()) << created.DebugString();
  EXPECT_EQ(created.application().user_id(), fresh);
  EXPECT_EQ(created.application().status(), v1::APPLICATION_STATUS_PENDING);

  // Against a row stored before the call, and against a copy earlier in the
  // same batch: both name the stored application.
  for (const auto& [index, id] :
       std::vector<std::pair<int, int64_t>>{{1, existing.id()}, {2, created.application().id()}}) {
    const v1::ApplyBatchResult& result = response.results(index);
    ASSERT_TRUE(result.has_error()) << index << ": " << result.DebugString();
    EXPECT_EQ(result.error().code(), grpc::StatusCode::ALREADY_EXISTS) << index;
    const google::rpc::ErrorInfo info = ErrorInfoOf(result.error());
    EXPECT_EQ(info.reason(), "ALREADY_APPLIED") << index;
    EXPECT_EQ(info.metadata().at("application_id"), absl::StrCat(id)) << index;
    EXPECT_NE(result.error().message().find(absl::StrCat(id)), std::string::npos)
        << result.error().message();
  }
  ASSERT_TRUE(response.results(3).has_error());
  EXPECT_EQ(response.results(3).error().code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ErrorInfoOf(response.results(3).error()).reason(), "CAMPAIGN_CLOSED");
  ASSERT_TRUE(response.results(4).has_error());
  EXPECT_EQ(response.results(4).error().code(), grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(response.results(5).has_error());
  EXPECT_EQ(response.results(5).error().code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ErrorInfoOf(response.results(5).error()).reason(), "CAMPAIGN_NOT_OPEN");
  ASSERT_TRUE(response.results(6).has_application());
  EXPECT_EQ(response.results(6).application().user_id(), last);
  // Request order is queue order: the later request got the later id.
  EXPECT_GT(response.results(6).application().id(), created.application().id());

  EXPECT_EQ(StoredApplications(open), 3);  // earlier, fresh, last
  EXPECT_EQ(StoredApplications(closed), 0);
  EXPECT_EQ(StoredApplications(not_open_yet), 0);
}

TEST_F(ApplyBatchDbTest, AThousandAreCommittedWhenTheCallReturns) {
  const int64_t campaign = NewCampaign();
  std::vector<std::pair<int64_t, std::string>> items;
  // 128-character ids: the largest batch of ASCII ids fits the default
  // request size limit.
  for (int i = 0; i < kMaxApplyBatch; ++i) {
    std::string user = absl::StrCat(Unique("u"), "-", i, "-");
    user.resize(128, 'x');
    items.emplace_back(campaign, user);
  }
  v1::ApplyBatchResponse response;
  const grpc::Status status = Batch(items, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.results_size(), kMaxApplyBatch);
  std::set<int64_t> ids;
  for (int i = 0; i < kMaxApplyBatch; ++i) {
    ASSERT_TRUE(response.results(i).has_application()) << i << response.results(i).DebugString();
    EXPECT_EQ(response.results(i).application().user_id(), items[i].second);
    ids.insert(response.results(i).application().id());
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kMaxApplyBatch));
  // Read by another connection right away: committed, not merely sent.
  EXPECT_EQ(StoredApplications(campaign), kMaxApplyBatch);
}

TEST_F(ApplyBatchDbTest, WhatIsWrongWithTheCallFailsTheWholeCall) {
  const int64_t campaign = NewCampaign();
  v1::ApplyBatchResponse response;

  grpc::Status status = Batch({}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Violations(status).count("requests"), 1u) << status.error_message();

  std::vector<std::pair<int64_t, std::string>> too_many(kMaxApplyBatch + 1);
  for (size_t i = 0; i < too_many.size(); ++i) too_many[i] = {campaign, absl::StrCat("t", i)};
  status = Batch(too_many, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("1 to 1000"), std::string::npos) << status.error_message();

  status = Batch({{campaign, "ok-0"},
                  {campaign, "ok-1"},
                  {campaign, "ok-2"},
                  {campaign, ""},
                  {campaign, "ok-4"},
                  {0, "ok-5"}},
                 &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  const std::map<std::string, std::string> violations = Violations(status);
  EXPECT_EQ(violations.size(), 2u) << status.error_message();
  EXPECT_EQ(violations.count("requests[3].user_id"), 1u) << status.error_message();
  EXPECT_EQ(violations.count("requests[5].campaign_id"), 1u) << status.error_message();
  EXPECT_EQ(status.error_message().rfind("requests[3].user_id: ", 0), 0u) << status.error_message();
  // Nothing of a refused call is stored, not even its good requests.
  EXPECT_EQ(StoredApplications(campaign), 0);
}

TEST(ApplyBatchLimitsDbTest, ABatchOfNTakesNTokensOfTheApplyRateLimit) {
  LimitOptions limits;
  limits.apply_rate = {0.001, 10};  // 10 at once, then practically none
  std::unique_ptr<ServerStack> stack = StartStack(limits);
  auto stub = v1::CampaignQueue::NewStub(
      grpc::CreateChannel(stack->address(), grpc::InsecureChannelCredentials()));
  v1::CreateCampaignRequest create;
  create.set_name(Unique("campaign"));
  v1::Campaign campaign;
  ASSERT_TRUE(stub->CreateCampaign(Context().get(), create, &campaign).ok());
  auto batch = [&](int n) {
    v1::ApplyBatchRequest request;
    for (int i = 0; i < n; ++i) {
      v1::ApplyRequest* item = request.add_requests();
      item->set_campaign_id(campaign.id());
      item->set_user_id(Unique("u"));
    }
    v1::ApplyBatchResponse response;
    return stub->ApplyBatch(Context().get(), request, &response);
  };

  // More than the burst can never pass: said so, nothing taken.
  grpc::Status status = batch(11);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(status.error_message().find("at most 10"), std::string::npos) << status.error_message();
  EXPECT_TRUE(batch(7).ok());
  // 3 tokens left: a batch of 4 is refused whole, then 3 pass.
  status = batch(4);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(status.error_message().find("too many Applies"), std::string::npos)
      << status.error_message();
  EXPECT_TRUE(batch(3).ok());
  // The batches spent the bucket a single Apply takes from.
  v1::ApplyRequest apply;
  apply.set_campaign_id(campaign.id());
  apply.set_user_id(Unique("single"));
  v1::Application application;
  EXPECT_EQ(stub->Apply(Context().get(), apply, &application).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(StoredApplications(campaign.id()), 10);
}

TEST_F(ApplyBatchDbTest, ABatchOverTheRequestSizeLimitIsRefusedAndOthersGoOn) {
  const int64_t campaign = NewCampaign();
  // 1,000 valid ids of up to 128 characters, most of them four bytes each:
  // about 3.5x the bytes of the ASCII batch the default limit is sized for.
  std::string wide;
  for (int i = 0; i < 124; ++i) wide += "\xF0\x9F\x8E\x9F";  // U+1F39F ADMISSION TICKETS
  std::vector<std::pair<int64_t, std::string>> items;
  for (int i = 0; i < kMaxApplyBatch; ++i) items.emplace_back(campaign, absl::StrCat(i, "-", wide));
  v1::ApplyBatchResponse response;
  grpc::Status status = Batch(items, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  EXPECT_EQ(StoredApplications(campaign), 0);

  // The same connection and server serve the next calls.
  items.resize(100);
  status = Batch(items, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.results_size(), 100);
  EXPECT_EQ(StoredApplications(campaign), 100);
}

}  // namespace
}  // namespace campaignq::server
