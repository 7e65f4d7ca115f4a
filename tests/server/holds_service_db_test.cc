// db tier: timed holds through the gRPC API (docs/holds.md), against the
// server as the binary runs it (ServerStack, an in-process channel, a tokens
// file) on the test PostgreSQL. A worker's batch is run in the test
// (queue::ClaimProtocol, as holds_db_test does), so the decisions are the
// worker's own. Covered: CreateCampaign's hold fields and what Get/List
// return; HELD with hold_expires_at; Confirm and Release, their statuses
// and who may call them; the stats' hold counters; WatchApplication through
// a hold.

#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "campaignq/v1/campaignq.grpc.pb.h"
#include "common/db/connect.h"
#include "common/queue/claim.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "server/security/token_file.h"
#include "server/server_stack.h"
#include "support/temp_dir.h"
#include "support/test_postgres.h"

namespace campaignq::server {
namespace {

using google::protobuf::util::TimeUtil;

constexpr char kAdmin[] = "holds-admin-token";
constexpr char kService[] = "holds-service-token";
constexpr char kAlice[] = "holds-alice-token";  // applicant "alice"
constexpr char kBob[] = "holds-bob-token";      // applicant "bob"
constexpr char kObserver[] = "holds-observer-token";

const std::string& DatabaseUrl() {
  static const std::string* url = new std::string(testing::FreshDatabaseUrl("holds_service"));
  return *url;
}

template <typename Message>
bool FindDetail(const grpc::Status& status, Message* out) {
  google::rpc::Status details;
  if (!details.ParseFromString(status.error_details())) return false;
  for (const auto& any : details.details()) {
    if (any.UnpackTo(out)) return true;
  }
  return false;
}

// The message without the request id every error ends with.
std::string Message(const grpc::Status& status) {
  const std::string& message = status.error_message();
  return message.substr(0, message.find(" [request_id="));
}

class HoldsServiceDbTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::ScopedTestDir("holds-service");
    const std::string tokens = dir_->File("tokens");
    std::ofstream(tokens) << security::Sha256Hex(kAdmin) << " admin ops\n"
                          << security::Sha256Hex(kService) << " service backend\n"
                          << security::Sha256Hex(kAlice) << " applicant alice alice-app\n"
                          << security::Sha256Hex(kBob) << " applicant bob bob-app\n"
                          << security::Sha256Hex(kObserver) << " observer dashboards\n";
    ServerOptions options;
    options.process.database_url = DatabaseUrl();
    options.listen = "127.0.0.1:0";
    options.pool_size = 4;
    options.shutdown_grace = absl::Seconds(5);
    options.security.auth_tokens_file = tokens;
    stack_ = new ServerStack(options);
    const absl::StatusOr<int> port = stack_->Start();
    ASSERT_TRUE(port.ok()) << port.status();
    channel_ = new std::shared_ptr<grpc::Channel>(
        stack_->grpc_server()->InProcessChannel(grpc::ChannelArguments()));
  }
  static void TearDownTestSuite() {
    delete channel_;
    delete stack_;  // stopped after the channel is gone
    delete dir_;
    channel_ = nullptr;
    stack_ = nullptr;
    dir_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(channel_, nullptr);
    stub_ = v1::CampaignQueue::NewStub(*channel_);
    auto connection = db::Connect(DatabaseUrl(), {});
    ASSERT_TRUE(connection.ok()) << connection.status();
    sql_ = *std::move(connection);
  }

  static std::unique_ptr<grpc::ClientContext> As(const char* token) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata("authorization", absl::StrCat("Bearer ", token));
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return context;
  }

  // A campaign with `cap` seats, each offered as a hold of `hold`.
  v1::Campaign HoldCampaign(int cap, absl::Duration hold = absl::Minutes(1),
                            std::optional<int> max_active_holds = std::nullopt) {
    v1::CreateCampaignRequest request;
    request.set_name(absl::StrCat("holds-", ++campaigns_));
    request.set_max_participants(cap);
    *request.mutable_hold_duration() =
        TimeUtil::MillisecondsToDuration(absl::ToInt64Milliseconds(hold));
    if (max_active_holds) request.set_max_active_holds(*max_active_holds);
    v1::Campaign campaign;
    const grpc::Status status = stub_->CreateCampaign(As(kAdmin).get(), request, &campaign);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return campaign;
  }

  v1::Application Apply(int64_t campaign_id, const std::string& user) {
    v1::ApplyRequest request;
    request.set_campaign_id(campaign_id);
    request.set_user_id(user);
    v1::Application application;
    const grpc::Status status = stub_->Apply(As(kService).get(), request, &application);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return application;
  }

  // One worker batch over the campaign, as campaignq-worker runs it.
  void Decide(int64_t campaign_id) {
    queue::ClaimProtocol claim(sql_.get());
    const queue::BatchResult result = claim.DecideCampaign(campaign_id, 100);
    ASSERT_TRUE(result.status.ok()) << result.status;
  }

  v1::Application Get(int64_t application_id) {
    v1::GetApplicationRequest request;
    request.set_application_id(application_id);
    v1::Application application;
    const grpc::Status status = stub_->GetApplication(As(kAdmin).get(), request, &application);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return application;
  }

  v1::Campaign GetCampaign(int64_t campaign_id) {
    v1::GetCampaignRequest request;
    request.set_campaign_id(campaign_id);
    v1::Campaign campaign;
    const grpc::Status status = stub_->GetCampaign(As(kAdmin).get(), request, &campaign);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return campaign;
  }

  // ConfirmApplication or ReleaseApplication of `application_id` as `token`.
  template <typename Request, typename Method>
  grpc::Status HoldCall(Method method, const char* token, int64_t application_id,
                        v1::Application* out) {
    Request request;
    request.set_application_id(application_id);
    v1::Application response;
    const grpc::Status status = (stub_.get()->*method)(As(token).get(), request, &response);
    if (out != nullptr) *out = response;
    return status;
  }
  grpc::Status Confirm(const char* token, int64_t application_id, v1::Application* out = nullptr) {
    return HoldCall<v1::ConfirmApplicationRequest>(&v1::CampaignQueue::Stub::ConfirmApplication,
                                                   token, application_id, out);
  }
  grpc::Status Release(const char* token, int64_t application_id, v1::Application* out = nullptr) {
    return HoldCall<v1::ReleaseApplicationRequest>(&v1::CampaignQueue::Stub::ReleaseApplication,
                                                   token, application_id, out);
  }

  // Confirm and Release, for what both must answer alike.
  std::vector<std::function<grpc::Status(const char*, int64_t)>> HoldCalls() {
    return {[this](const char* token, int64_t id) { return Confirm(token, id); },
            [this](const char* token, int64_t id) { return Release(token, id); }};
  }

  int64_t Scalar(const std::string& query) {
    pqxx::work txn(*sql_);
    const int64_t value = txn.exec1(query)[0].as<int64_t>();
    txn.commit();
    return value;
  }

  static testing::ScopedTestDir* dir_;
  static ServerStack* stack_;
  static std::shared_ptr<grpc::Channel>* channel_;
  static int campaigns_;
  std::unique_ptr<v1::CampaignQueue::Stub> stub_;
  std::unique_ptr<db::Connection> sql_;
};

testing::ScopedTestDir* HoldsServiceDbTest::dir_ = nullptr;
ServerStack* HoldsServiceDbTest::stack_ = nullptr;
std::shared_ptr<grpc::Channel>* HoldsServiceDbTest::channel_ = nullptr;
int HoldsServiceDbTest::campaigns_ = 0;

TEST_F(HoldsServiceDbTest, ACampaignKeepsItsHoldFieldsInEveryAnswer) {
  const v1::Campaign created = HoldCampaign(3, absl::Minutes(10), 2);
  EXPECT_EQ(created.hold_duration().seconds(), 600);
  EXPECT_EQ(created.hold_duration().nanos(), 0);
  ASSERT_TRUE(created.has_max_active_holds());
  EXPECT_EQ(created.max_active_holds(), 2);
  EXPECT_EQ(created.held_count(), 0);

  const v1::Campaign fetched = GetCampaign(created.id());
  EXPECT_EQ(fetched.hold_duration().seconds(), 600);
  EXPECT_EQ(fetched.max_active_holds(), 2);

  v1::ListCampaignsRequest list;
  list.set_page_size(1000);
  v1::ListCampaignsResponse listed;
  ASSERT_TRUE(stub_->ListCampaigns(As(kAdmin).get(), list, &listed).ok());
  bool found = false;
  for (const v1::Campaign& campaign : listed.campaigns()) {
    if (campaign.id() != created.id()) continue;
    found = true;
    EXPECT_EQ(campaign.hold_duration().seconds(), 600);
    EXPECT_EQ(campaign.max_active_holds(), 2);
  }
  EXPECT_TRUE(found);

  // A campaign without holds has none of them.
  v1::CreateCampaignRequest plain;
  plain.set_name("holds-plain");
  plain.set_max_participants(1);
  v1::Campaign final_approvals;
  ASSERT_TRUE(stub_->CreateCampaign(As(kAdmin).get(), plain, &final_approvals).ok());
  EXPECT_FALSE(final_approvals.has_hold_duration());
  EXPECT_FALSE(final_approvals.has_max_active_holds());
}

TEST_F(HoldsServiceDbTest, AHoldIsConfirmedByItsApplicantAndKeepsItsSeat) {
  const v1::Campaign campaign = HoldCampaign(1, absl::Minutes(1));
  const v1::Application alices = Apply(campaign.id(), "alice");
  Decide(campaign.id());

  const v1::Application held = Get(alices.id());
  EXPECT_EQ(held.status(), v1::APPLICATION_STATUS_HELD);
  ASSERT_TRUE(held.has_hold_expires_at());
  // The hold runs its duration from the decision.
  EXPECT_EQ(TimeUtil::TimestampToMilliseconds(held.hold_expires_at()) -
                TimeUtil::TimestampToMilliseconds(held.decide_time()),
            60'000);
  EXPECT_EQ(GetCampaign(campaign.id()).held_count(), 1);

  v1::Application confirmed;
  const grpc::Status status = Confirm(kAlice, alices.id(), &confirmed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(confirmed.status(), v1::APPLICATION_STATUS_APPROVED);
  EXPECT_FALSE(confirmed.has_hold_expires_at());
  const v1::Campaign after = GetCampaign(campaign.id());
  EXPECT_EQ(after.approved_count(), 1);
  EXPECT_EQ(after.held_count(), 0);

  // A retry after a lost reply gets the same answer; nothing moves.
  ASSERT_TRUE(Confirm(kAlice, alices.id(), &confirmed).ok());
  EXPECT_EQ(confirmed.status(), v1::APPLICATION_STATUS_APPROVED);
  EXPECT_EQ(GetCampaign(campaign.id()).approved_count(), 1);
  // Approved is not a hold: a release is refused, in words.
  const grpc::Status release = Release(kAlice, alices.id());
  EXPECT_EQ(release.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Message(release),
            absl::StrCat("application ", alices.id(),
                         " is approved; only a held application can be released"));
}

TEST_F(HoldsServiceDbTest, AReleasePassesTheSeatToTheNextInLineAsAHold) {
  const v1::Campaign campaign = HoldCampaign(1);
  const v1::Application alices = Apply(campaign.id(), "alice");
  const v1::Application bobs = Apply(campaign.id(), "bob");
  Decide(campaign.id());
  EXPECT_EQ(Get(bobs.id()).status(), v1::APPLICATION_STATUS_WAITLISTED);

  v1::Application released;
  const grpc::Status status = Release(kAlice, alices.id(), &released);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(released.status(), v1::APPLICATION_STATUS_RELEASED);
  EXPECT_FALSE(released.has_hold_expires_at());

  const v1::Application next = Get(bobs.id());
  EXPECT_EQ(next.status(), v1::APPLICATION_STATUS_HELD);
  EXPECT_TRUE(next.has_hold_expires_at());
  EXPECT_EQ(GetCampaign(campaign.id()).held_count(), 1);
  // Released again: as is.
  ASSERT_TRUE(Release(kAlice, alices.id(), &released).ok());
  EXPECT_EQ(released.status(), v1::APPLICATION_STATUS_RELEASED);
  // Released is final: it cannot be confirmed.
  EXPECT_EQ(Confirm(kAlice, alices.id()).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(HoldsServiceDbTest, AConfirmAfterTheExpiryIsFailedPreconditionBeforeAnyWorkerExpiresIt) {
  const v1::Campaign campaign = HoldCampaign(1);
  const v1::Application alices = Apply(campaign.id(), "alice");
  Decide(campaign.id());
  // The hold's time has passed; no worker has expired it.
  Scalar(absl::StrCat(
      "WITH due AS (UPDATE applications SET hold_expires_at = clock_timestamp() - interval "
      "'1 ms' WHERE id = ",
      alices.id(), " RETURNING id) SELECT count(*) FROM due"));

  const grpc::Status late = Confirm(kAlice, alices.id());
  EXPECT_EQ(late.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Message(late), absl::StrCat("the hold of application ", alices.id(), " has expired"));
  EXPECT_EQ(Get(alices.id()).status(), v1::APPLICATION_STATUS_HELD);
  const v1::Campaign after = GetCampaign(campaign.id());
  EXPECT_EQ(after.approved_count(), 0);
  EXPECT_EQ(after.held_count(), 1);
}

TEST_F(HoldsServiceDbTest, BadHoldsAreInvalidArgumentNamingTheFieldAndCreateNothing) {
  struct Case {
    std::optional<int32_t> cap;
    std::optional<google::protobuf::Duration> hold;
    std::optional<int32_t> max_active_holds;
    std::string field;
    std::string message;
  };
  const auto ms = [](int64_t millis) { return TimeUtil::MillisecondsToDuration(millis); };
  google::protobuf::Duration sub_millisecond = TimeUtil::NanosecondsToDuration(1'000'500'000);
  google::protobuf::Duration mixed_signs;
  mixed_signs.set_seconds(5);
  mixed_signs.set_nanos(-1);
  const std::vector<Case> cases = {
      {std::nullopt, ms(60'000), std::nullopt, "hold_duration",
       "hold_duration needs max_participants: a hold keeps a seat, and a campaign without a cap "
       "has none to keep"},
      {10, ms(0), std::nullopt, "hold_duration", "hold_duration must be 1s to 24h, got 0"},
      {10, ms(999), std::nullopt, "hold_duration", "hold_duration must be 1s to 24h, got 999ms"},
      {10, ms(-60'000), std::nullopt, "hold_duration", "hold_duration must be 1s to 24h, got -1m"},
      {10, ms(25 * 3600 * 1000), std::nullopt, "hold_duration",
       "hold_duration must be 1s to 24h, got 25h"},
      {10, sub_millisecond, std::nullopt, "hold_duration",
       "hold_duration must be whole milliseconds, got 1.0005s"},
      {10, mixed_signs, std::nullopt, "hold_duration", "hold_duration is not a valid duration"},
      {10, ms(60'000), 0, "max_active_holds",
       "max_active_holds must be greater than 0 (leave it unset for as many holds as seats), got "
       "0"},
      {10, std::nullopt, 2, "max_active_holds",
       "max_active_holds needs hold_duration: it bounds the holds outstanding, and without "
       "hold_duration a campaign makes none"},
  };
  const int64_t before = Scalar("SELECT count(*) FROM campaigns");
  for (const Case& c : cases) {
    v1::CreateCampaignRequest request;
    request.set_name("holds-bad");
    if (c.cap) request.set_max_participants(*c.cap);
    if (c.hold) *request.mutable_hold_duration() = *c.hold;
    if (c.max_active_holds) request.set_max_active_holds(*c.max_active_holds);
    v1::Campaign campaign;
    const grpc::Status status = stub_->CreateCampaign(As(kAdmin).get(), request, &campaign);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.message;
    EXPECT_EQ(Message(status), c.message);
    google::rpc::BadRequest bad_request;
    ASSERT_TRUE(FindDetail(status, &bad_request)) << c.message;
    ASSERT_EQ(bad_request.field_violations_size(), 1);
    EXPECT_EQ(bad_request.field_violations(0).field(), c.field);
  }
  EXPECT_EQ(Scalar("SELECT count(*) FROM campaigns"), before);
  for (const auto& call : HoldCalls()) {
    const grpc::Status status = call(kAdmin, 0);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(Message(status), "application_id must be a positive id, got 0");
  }
}

// As CancelApplication (docs/security.md): the applicant itself, a service
// or an admin; another applicant's hold answers exactly as a missing one.
TEST_F(HoldsServiceDbTest, OnlyTheApplicantItselfOrAServiceDecidesAHold) {
  const v1::Campaign campaign = HoldCampaign(2);
  const v1::Application alices = Apply(campaign.id(), "alice");
  const v1::Application bobs = Apply(campaign.id(), "bob");
  Decide(campaign.id());
  const int64_t missing = bobs.id() + 1'000'000;

  for (const auto& call : HoldCalls()) {
    const grpc::Status others = call(kBob, alices.id());
    const grpc::Status none = call(kBob, missing);
    EXPECT_EQ(others.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(Message(others), absl::StrCat("application ", alices.id(), " does not exist"));
    EXPECT_EQ(none.error_code(), grpc::StatusCode::NOT_FOUND);
    const grpc::Status observer = call(kObserver, alices.id());
    EXPECT_EQ(observer.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  EXPECT_EQ(Get(alices.id()).status(), v1::APPLICATION_STATUS_HELD);
  EXPECT_EQ(GetCampaign(campaign.id()).held_count(), 2);

  // A service acts for any user.
  v1::Application confirmed;
  ASSERT_TRUE(Confirm(kService, bobs.id(), &confirmed).ok());
  EXPECT_EQ(confirmed.status(), v1::APPLICATION_STATUS_APPROVED);
}

// A worker's batch holds the campaign lock while it decides: a confirm
// behind it waits at most 500 ms and then tells the client when to retry.
TEST_F(HoldsServiceDbTest, AConfirmBehindABatchIsAbortedWithARetryDelay) {
  const v1::Campaign campaign = HoldCampaign(1);
  const v1::Application alices = Apply(campaign.id(), "alice");
  Decide(campaign.id());
  auto holder = db::Connect(DatabaseUrl(), {});
  ASSERT_TRUE(holder.ok()) << holder.status();
  pqxx::work batch(**holder);
  batch.exec_params("SELECT id FROM campaigns WHERE id = $1 FOR NO KEY UPDATE", campaign.id());

  const grpc::Status busy = Confirm(kAlice, alices.id());
  EXPECT_EQ(busy.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_EQ(Message(busy), absl::StrCat("application ", alices.id(),
                                        "'s campaign is busy deciding; retry shortly"));
  google::rpc::RetryInfo retry;
  ASSERT_TRUE(FindDetail(busy, &retry));
  EXPECT_EQ(TimeUtil::DurationToMilliseconds(retry.retry_delay()), 200);
  batch.abort();
  EXPECT_TRUE(Confirm(kAlice, alices.id()).ok());
}

TEST_F(HoldsServiceDbTest, QueueStatsCountHeldReleasedAndExpiredPerCampaignAndInTotal) {
  const v1::Campaign campaign = HoldCampaign(1);
  const v1::Application alices = Apply(campaign.id(), "alice");
  Apply(campaign.id(), "bob");
  Decide(campaign.id());
  ASSERT_TRUE(Release(kAlice, alices.id()).ok());
  // What the workers' expiry counts (migration 0008's expired_count).
  Scalar(absl::StrCat(
      "WITH counted AS (UPDATE campaigns SET expired_count = expired_count + 2 WHERE id = ",
      campaign.id(), " RETURNING id) SELECT count(*) FROM counted"));

  v1::GetQueueStatsRequest request;
  request.set_page_size(1000);
  v1::QueueStats stats;
  ASSERT_TRUE(stub_->GetQueueStats(As(kObserver).get(), request, &stats).ok());
  bool found = false;
  for (const v1::CampaignQueueStats& listed : stats.campaigns()) {
    if (listed.campaign_id() != campaign.id()) continue;
    found = true;
    EXPECT_EQ(listed.held(), 1);  // bob's, passed on by alice's release
    EXPECT_EQ(listed.released(), 1);
    EXPECT_EQ(listed.expired(), 2);
  }
  EXPECT_TRUE(found);
  // The totals are every campaign's, read from the same counters.
  EXPECT_EQ(stats.held(), Scalar("SELECT sum(held_count) FROM campaigns"));
  EXPECT_EQ(stats.released(), Scalar("SELECT sum(released_count) FROM campaigns"));
  EXPECT_EQ(stats.expired(), Scalar("SELECT sum(expired_count) FROM campaigns"));
  EXPECT_GE(stats.released(), 1);
  EXPECT_GE(stats.expired(), 2);
  EXPECT_EQ(stats.decided(), stats.approved() + stats.rejected() + stats.cancelled() +
                                 stats.released() + stats.expired());
}

// HELD is not final: a watch sends it, with its expiry, then the final
// status, and only then ends.
TEST_F(HoldsServiceDbTest, AWatchSendsTheHoldWithItsExpiryAndThenTheFinalStatus) {
  const v1::Campaign campaign = HoldCampaign(1);
  const v1::Application alices = Apply(campaign.id(), "alice");
  const v1::Application bobs = Apply(campaign.id(), "bob");

  v1::WatchApplicationRequest request;
  request.set_application_id(alices.id());
  auto context = As(kAlice);
  auto reader = stub_->WatchApplication(context.get(), request);
  v1::Application message;
  ASSERT_TRUE(reader->Read(&message));
  EXPECT_EQ(message.status(), v1::APPLICATION_STATUS_PENDING);

  Decide(campaign.id());
  ASSERT_TRUE(reader->Read(&message));
  EXPECT_EQ(message.status(), v1::APPLICATION_STATUS_HELD);
  ASSERT_TRUE(message.has_hold_expires_at());
  EXPECT_EQ(TimeUtil::TimestampToMilliseconds(message.hold_expires_at()),
            TimeUtil::TimestampToMilliseconds(Get(alices.id()).hold_expires_at()));

  ASSERT_TRUE(Release(kAlice, alices.id()).ok());
  ASSERT_TRUE(reader->Read(&message));
  EXPECT_EQ(message.status(), v1::APPLICATION_STATUS_RELEASED);
  EXPECT_FALSE(message.has_hold_expires_at());
  EXPECT_FALSE(reader->Read(&message));
  const grpc::Status finished = reader->Finish();
  EXPECT_TRUE(finished.ok()) << finished.error_message();

  // The seat passed on: bob's watch starts at his hold and ends approved.
  v1::WatchApplicationRequest bob_request;
  bob_request.set_application_id(bobs.id());
  auto bob_context = As(kBob);
  auto bob_reader = stub_->WatchApplication(bob_context.get(), bob_request);
  ASSERT_TRUE(bob_reader->Read(&message));
  EXPECT_EQ(message.status(), v1::APPLICATION_STATUS_HELD);
  EXPECT_TRUE(message.has_hold_expires_at());
  ASSERT_TRUE(Confirm(kBob, bobs.id()).ok());
  ASSERT_TRUE(bob_reader->Read(&message));
  EXPECT_EQ(message.status(), v1::APPLICATION_STATUS_APPROVED);
  EXPECT_FALSE(bob_reader->Read(&message));
  EXPECT_TRUE(bob_reader->Finish().ok());
}

}  // namespace
}  // namespace campaignq::server
