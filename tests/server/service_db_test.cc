// The server as the binary runs it (ServerStack: it migrates the database,
// binds a free port) through an in-process channel, against a fresh
// database on the test PostgreSQL (support/test_postgres.h); and the
// stack's own life (Start/Drain/Stop). Decisions are made by hand with SQL
// + pg_notify, as a worker would, so these tests need no worker. Names are
// unique per run: the database may hold other data.

#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "campaignq/v1/campaignq.grpc.pb.h"
#include "common/db/connect.h"
#include "common/db/migrator.h"
#include "common/db/pool.h"
#include "common/exit_codes.h"
#include "common/process/process_flags.h"
#include "common/store/campaign_store.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "grpc_probe.h"
#include "server/decision_listener.h"
#include "server/server_setup.h"
#include "server/server_stack.h"
#include "support/poll.h"
#include "support/test_postgres.h"

namespace campaignq::server {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

const std::string& DatabaseUrl() {
  static const std::string* url = new std::string(testing::FreshDatabaseUrl("service"));
  return *url;
}

ServerOptions TestServerOptions(const std::string& url) {
  ServerOptions options;
  options.process.database_url = url;
  options.listen = "127.0.0.1:0";
  options.pool_size = 4;
  options.shutdown_grace = absl::Seconds(5);
  return options;
}

// The server as campaignq-server runs it (ServerStack, which also migrates
// the database), called through an in-process channel.
struct Served {
  Served() : stack(TestServerOptions(DatabaseUrl())) {}
  // False (with the test failed) when the stack cannot start.
  bool Start() {
    absl::StatusOr<int> port = stack.Start();
    EXPECT_TRUE(port.ok()) << port.status();
    if (!port.ok()) return false;
    channel = stack.grpc_server()->InProcessChannel(grpc::ChannelArguments());
    stub = v1::CampaignQueue::NewStub(channel);
    return true;
  }

  ServerStack stack;  // declared first: stopped after the channel is gone
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::CampaignQueue::Stub> stub;
};

class ServiceDbTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    stack_ = new Served();
    if (!stack_->Start()) {
      delete stack_;
      stack_ = nullptr;
    }
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }

  void SetUp() override { ASSERT_NE(stack_, nullptr); }

  v1::CampaignQueue::Stub& stub() { return *stack_->stub; }

  static std::unique_ptr<grpc::ClientContext> Context(milliseconds timeout = milliseconds(10000)) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + timeout);
    return context;
  }

  static std::string Unique(absl::string_view prefix) {
    static int counter = 0;
    return absl::StrCat(prefix, "-", getpid(), "-", steady_clock::now().time_since_epoch().count(),
                        "-", ++counter);
  }

  v1::Campaign CreateCampaign(std::optional<int32_t> cap = std::nullopt) {
    v1::CreateCampaignRequest request;
    request.set_name(Unique("campaign"));
    if (cap.has_value()) request.set_max_participants(*cap);
    v1::Campaign campaign;
    const grpc::Status status = stub().CreateCampaign(Context().get(), request, &campaign);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return campaign;
  }

  v1::Application Apply(int64_t campaign_id) {
    v1::ApplyRequest request;
    request.set_campaign_id(campaign_id);
    request.set_user_id(Unique("user"));
    v1::Application application;
    const grpc::Status status = stub().Apply(Context().get(), request, &application);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return application;
  }

  // What a worker does: change the row, then NOTIFY the campaign.
  static void DecideByHand(const v1::Application& application, const std::string& status) {
    pqxx::connection connection(DatabaseUrl());
    pqxx::work txn(connection);
    txn.exec_params(
        "UPDATE applications SET status = $2, decided_at = clock_timestamp(), "
        "updated_at = clock_timestamp() WHERE id = $1",
        application.id(), status);
    txn.exec_params("SELECT pg_notify('campaignq_decided', $1)",
                    std::to_string(application.campaign_id()));
    txn.commit();
  }

  static Served* stack_;
};

Served* ServiceDbTest::stack_ = nullptr;

TEST_F(ServiceDbTest, CreateAndGetCampaign) {
  const v1::Campaign created = CreateCampaign(3);
  EXPECT_GT(created.id(), 0);
  EXPECT_EQ(created.status(), v1::CAMPAIGN_STATUS_OPEN);
  EXPECT_EQ(created.max_participants(), 3);
  EXPECT_TRUE(created.waitlist());

  v1::GetCampaignRequest get;
  get.set_campaign_id(created.id());
  v1::Campaign fetched;
  ASSERT_TRUE(stub().GetCampaign(Context().get(), get, &fetched).ok());
  EXPECT_EQ(fetched.name(), created.name());
}

TEST_F(ServiceDbTest, ErrorsKeepTheStoresCodes) {
  v1::CreateCampaignRequest bad;  // empty name
  v1::Campaign campaign;
  EXPECT_EQ(stub().CreateCampaign(Context().get(), bad, &campaign).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  v1::GetCampaignRequest missing;
  missing.set_campaign_id(int64_t{1} << 60);
  const grpc::Status status = stub().GetCampaign(Context().get(), missing, &campaign);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(status.error_message().find("does not exist"), std::string::npos);

  v1::ApplyRequest apply;
  apply.set_campaign_id(int64_t{1} << 60);
  apply.set_user_id("someone");
  v1::Application application;
  EXPECT_EQ(stub().Apply(Context().get(), apply, &application).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(ServiceDbTest, ApplyTwiceIsAlreadyExistsNamingTheApplication) {
  const v1::Campaign campaign = CreateCampaign();
  v1::ApplyRequest request;
  request.set_campaign_id(campaign.id());
  request.set_user_id("alice");
  v1::Application first;
  ASSERT_TRUE(stub().Apply(Context().get(), request, &first).ok());
  EXPECT_EQ(first.status(), v1::APPLICATION_STATUS_PENDING);

  v1::Application second;
  const grpc::Status again = stub().Apply(Context().get(), request, &second);
  EXPECT_EQ(again.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_NE(again.error_message().find(std::to_string(first.id())), std::string::npos)
      << again.error_message();

  v1::GetApplicationRequest get;
  get.set_application_id(first.id());
  v1::Application fetched;
  ASSERT_TRUE(stub().GetApplication(Context().get(), get, &fetched).ok());
  EXPECT_EQ(fetched.user_id(), "alice");
  EXPECT_EQ(fetched.campaign_id(), campaign.id());
}

TEST_F(ServiceDbTest, ListCampaignsPagesInIdOrder) {
  std::vector<int64_t> ours;
  for (int i = 0; i < 5; ++i) ours.push_back(CreateCampaign().id());
  std::vector<int64_t> seen;
  std::string token;
  int pages = 0;
  do {
    v1::ListCampaignsRequest request;
    request.set_page_size(2);
    request.set_page_token(token);
    v1::ListCampaignsResponse response;
    ASSERT_TRUE(stub().ListCampaigns(Context().get(), request, &response).ok());
    EXPECT_LE(response.campaigns_size(), 2);
    for (const v1::Campaign& campaign : response.campaigns()) seen.push_back(campaign.id());
    token = response.next_page_token();
    ASSERT_LT(++pages, 100000);
  } while (!token.empty());
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(std::adjacent_find(seen.begin(), seen.end()), seen.end());  // no repeats
  for (int64_t id : ours) EXPECT_NE(std::find(seen.begin(), seen.end(), id), seen.end()) << id;

  v1::ListCampaignsRequest bad;
  bad.set_page_token("not a token");
  v1::ListCampaignsResponse response;
  EXPECT_EQ(stub().ListCampaigns(Context().get(), bad, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ServiceDbTest, CloseRejectsPendingAndRefusesNewApplications) {
  const v1::Campaign campaign = CreateCampaign();
  const v1::Application pending = Apply(campaign.id());

  v1::CloseCampaignRequest close;
  close.set_campaign_id(campaign.id());
  v1::Campaign closed;
  ASSERT_TRUE(stub().CloseCampaign(Context().get(), close, &closed).ok());
  EXPECT_EQ(closed.status(), v1::CAMPAIGN_STATUS_CLOSED);
  EXPECT_TRUE(closed.has_close_time());
  ASSERT_TRUE(stub().CloseCampaign(Context().get(), close, &closed).ok());  // idempotent

  v1::GetApplicationRequest get;
  get.set_application_id(pending.id());
  v1::Application rejected;
  ASSERT_TRUE(stub().GetApplication(Context().get(), get, &rejected).ok());
  EXPECT_EQ(rejected.status(), v1::APPLICATION_STATUS_REJECTED);
  EXPECT_EQ(rejected.reason(), v1::REJECTION_REASON_CAMPAIGN_CLOSED);

  v1::ApplyRequest late;
  late.set_campaign_id(campaign.id());
  late.set_user_id("late");
  v1::Application application;
  EXPECT_EQ(stub().Apply(Context().get(), late, &application).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(ServiceDbTest, CancelAndListApplications) {
  const v1::Campaign campaign = CreateCampaign();
  const v1::Application a = Apply(campaign.id());
  const v1::Application b = Apply(campaign.id());
  v1::CancelApplicationRequest cancel;
  cancel.set_application_id(a.id());
  v1::Application cancelled;
  ASSERT_TRUE(stub().CancelApplication(Context().get(), cancel, &cancelled).ok());
  EXPECT_EQ(cancelled.status(), v1::APPLICATION_STATUS_CANCELLED);

  v1::ListApplicationsRequest list;
  list.set_campaign_id(campaign.id());
  list.set_status(v1::APPLICATION_STATUS_PENDING);
  v1::ListApplicationsResponse response;
  ASSERT_TRUE(stub().ListApplications(Context().get(), list, &response).ok());
  ASSERT_EQ(response.applications_size(), 1);
  EXPECT_EQ(response.applications(0).id(), b.id());
}

TEST_F(ServiceDbTest, QueueStatsDefaultsTheStallThreshold) {
  const v1::Campaign campaign = CreateCampaign();
  Apply(campaign.id());
  v1::GetQueueStatsRequest request;  // stall_threshold unset: 30 s
  v1::QueueStats stats;
  ASSERT_TRUE(stub().GetQueueStats(Context().get(), request, &stats).ok());
  EXPECT_GE(stats.pending(), 1);
  bool found = false;
  for (const v1::CampaignQueueStats& entry : stats.campaigns()) {
    if (entry.campaign_id() != campaign.id()) continue;
    found = true;
    EXPECT_EQ(entry.pending(), 1);
    EXPECT_FALSE(entry.stalled());  // just created: younger than 30 s
  }
  EXPECT_TRUE(found);

  request.mutable_stall_threshold()->set_seconds(-1);
  EXPECT_EQ(stub().GetQueueStats(Context().get(), request, &stats).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ServiceDbTest, WatchSendsCurrentStateThenTheDecisionAndEndsOk) {
  const v1::Campaign campaign = CreateCampaign();
  const v1::Application application = Apply(campaign.id());
  auto context = Context();
  v1::WatchApplicationRequest request;
  request.set_application_id(application.id());
  auto reader = stub().WatchApplication(context.get(), request);

  v1::Application update;
  ASSERT_TRUE(reader->Read(&update));
  EXPECT_EQ(update.status(), v1::APPLICATION_STATUS_PENDING);

  DecideByHand(application, "approved");
  ASSERT_TRUE(reader->Read(&update));
  EXPECT_EQ(update.status(), v1::APPLICATION_STATUS_APPROVED);
  EXPECT_FALSE(reader->Read(&update));
  const grpc::Status status = reader->Finish();
  EXPECT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
}

// What makes a watch fast: the decision's NOTIFY reaches the listener.
// No timing: WaitForChange has no timer of its own besides the deadline,
// so without the notification it would return the old generation.
TEST_F(ServiceDbTest, TheDecisionNotificationWakesTheListener) {
  const v1::Campaign campaign = CreateCampaign(/*cap=*/5);
  const v1::Application application = Apply(campaign.id());
  const DecisionListener& listener = *stack_->stack.listener();
  // The listener connects in the background and bumps every generation
  // when it does: wait for one change first, so the next is the NOTIFY.
  uint64_t generation = listener.Generation(campaign.id());
  DecideByHand(application, "waitlisted");
  generation = listener.WaitForChange(campaign.id(), generation,
                                      steady_clock::now() + std::chrono::seconds(30));
  DecideByHand(application, "approved");
  EXPECT_NE(listener.WaitForChange(campaign.id(), generation,
                                   steady_clock::now() + std::chrono::seconds(30)),
            generation);
}

TEST_F(ServiceDbTest, WatchTreatsWaitlistedAsNotFinal) {
  const v1::Campaign campaign = CreateCampaign();
  const v1::Application application = Apply(campaign.id());
  auto context = Context();
  v1::WatchApplicationRequest request;
  request.set_application_id(application.id());
  auto reader = stub().WatchApplication(context.get(), request);
  v1::Application update;
  ASSERT_TRUE(reader->Read(&update));

  DecideByHand(application, "waitlisted");
  ASSERT_TRUE(reader->Read(&update));
  EXPECT_EQ(update.status(), v1::APPLICATION_STATUS_WAITLISTED);
  DecideByHand(application, "approved");
  ASSERT_TRUE(reader->Read(&update));
  EXPECT_EQ(update.status(), v1::APPLICATION_STATUS_APPROVED);
  EXPECT_FALSE(reader->Read(&update));
  EXPECT_TRUE(reader->Finish().ok());
}

TEST_F(ServiceDbTest, WatchOfAFinalApplicationSendsOneMessage) {
  const v1::Campaign campaign = CreateCampaign();
  const v1::Application application = Apply(campaign.id());
  v1::CancelApplicationRequest cancel;
  cancel.set_application_id(application.id());
  v1::Application cancelled;
  ASSERT_TRUE(stub().CancelApplication(Context().get(), cancel, &cancelled).ok());

  auto context = Context();
  v1::WatchApplicationRequest request;
  request.set_application_id(application.id());
  auto reader = stub().WatchApplication(context.get(), request);
  v1::Application update;
  ASSERT_TRUE(reader->Read(&update));
  EXPECT_EQ(update.status(), v1::APPLICATION_STATUS_CANCELLED);
  EXPECT_FALSE(reader->Read(&update));
  EXPECT_TRUE(reader->Finish().ok());
}

TEST_F(ServiceDbTest, WatchEndsAtTheDeadline) {
  const v1::Campaign campaign = CreateCampaign();
  const v1::Application application = Apply(campaign.id());
  auto context = Context(milliseconds(1500));
  v1::WatchApplicationRequest request;
  request.set_application_id(application.id());
  const auto start = steady_clock::now();
  auto reader = stub().WatchApplication(context.get(), request);
  v1::Application update;
  ASSERT_TRUE(reader->Read(&update));
  EXPECT_FALSE(reader->Read(&update));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_LT(steady_clock::now() - start, milliseconds(3000));
}

TEST_F(ServiceDbTest, WatchOfAnUnknownApplicationIsNotFound) {
  auto context = Context();
  v1::WatchApplicationRequest request;
  request.set_application_id(int64_t{1} << 60);
  auto reader = stub().WatchApplication(context.get(), request);
  v1::Application update;
  EXPECT_FALSE(reader->Read(&update));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ServiceDbTest, HealthIsServingAndReflectionListsTheService) {
  grpc::Channel* channel = stack_->channel.get();
  auto whole = server_test::CheckHealth(channel, "");
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_EQ(*whole, "SERVING");
  auto service = server_test::CheckHealth(channel, kServiceName);
  ASSERT_TRUE(service.ok()) << service.status();
  EXPECT_EQ(*service, "SERVING");

  auto names = server_test::ListServicesByReflection(channel);
  ASSERT_TRUE(names.ok()) << names.status();
  EXPECT_NE(std::find(names->begin(), names->end(), kServiceName), names->end());
  EXPECT_NE(std::find(names->begin(), names->end(), "grpc.health.v1.Health"), names->end());
}

// Drain (the first half of Stop): health NOT_SERVING, every watch and
// every reflection stream ended with UNAVAILABLE at once, new reflection
// streams refused. Its own stack: it stops it.
TEST_F(ServiceDbTest, DrainingEndsWatchesPromptly) {
  Served own;
  ASSERT_TRUE(own.Start());
  const v1::Campaign campaign = CreateCampaign();
  const v1::Application application = Apply(campaign.id());
  auto context = Context();
  v1::WatchApplicationRequest request;
  request.set_application_id(application.id());
  auto reader = own.stub->WatchApplication(context.get(), request);
  v1::Application update;
  ASSERT_TRUE(reader->Read(&update));
  // A reflection stream answered once, now waiting for its next request.
  auto reflection = grpc::reflection::v1alpha::ServerReflection::NewStub(own.channel);
  grpc::ClientContext reflection_context;
  auto stream = reflection->ServerReflectionInfo(&reflection_context);
  grpc::reflection::v1alpha::ServerReflectionRequest list;
  list.set_list_services("*");
  ASSERT_TRUE(stream->Write(list));
  grpc::reflection::v1alpha::ServerReflectionResponse listed;
  ASSERT_TRUE(stream->Read(&listed));

  const auto start = steady_clock::now();
  own.stack.Drain();
  own.stack.Drain();  // idempotent
  EXPECT_EQ(*server_test::CheckHealth(own.channel.get(), ""), "NOT_SERVING");
  EXPECT_FALSE(reader->Read(&update));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_FALSE(stream->Read(&listed));
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_LT(steady_clock::now() - start, milliseconds(1500));
  grpc::ClientContext late_context;
  auto late = reflection->ServerReflectionInfo(&late_context);
  EXPECT_FALSE(late->Read(&listed));
  EXPECT_EQ(late->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  own.stack.Stop();
  EXPECT_EQ(own.stack.grpc_server(), nullptr);
}

TEST(ServerStackTest, StopWithoutStartIsFine) {
  ServerStack stack(TestServerOptions(DatabaseUrl()));
  stack.Drain();
  stack.Stop();
  stack.Stop();
  EXPECT_EQ(stack.grpc_server(), nullptr);
  EXPECT_TRUE(stack.address().empty());
}

TEST(ServerStackTest, StartsOnceStopsIdempotently) {
  ServerStack stack(TestServerOptions(DatabaseUrl()));
  absl::StatusOr<int> port = stack.Start();
  ASSERT_TRUE(port.ok()) << port.status();
  EXPECT_GT(*port, 0);
  EXPECT_EQ(stack.address(), absl::StrCat("127.0.0.1:", *port));
  EXPECT_NE(stack.grpc_server(), nullptr);
  EXPECT_NE(stack.listener(), nullptr);
  EXPECT_EQ(stack.Start().status().code(), absl::StatusCode::kFailedPrecondition);
  // The port serves over TCP, health and all.
  auto channel = grpc::CreateChannel(stack.address(), grpc::InsecureChannelCredentials());
  auto health = server_test::CheckHealth(channel.get(), kServiceName);
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, "SERVING");

  stack.Stop();
  stack.Stop();
  EXPECT_EQ(stack.grpc_server(), nullptr);
  EXPECT_TRUE(stack.address().empty());
  EXPECT_EQ(stack.Start().status().code(), absl::StatusCode::kFailedPrecondition);
}

// The queue gauges' query reads the applications table, and a backlog (or
// a lock) makes it slow; health's ping must not wait behind it. A lock held
// on the table blocks the gauges' query while a scrape runs: health keeps
// pinging on its own connection and stays SERVING.
TEST(ServerStackTest, HealthPingsWhileTheQueueGaugesQueryIsBlocked) {
  ServerOptions options = TestServerOptions(DatabaseUrl());
  options.process.metrics_listen = "127.0.0.1:0";
  ServerStack stack(options);
  absl::StatusOr<int> port = stack.Start();
  ASSERT_TRUE(port.ok()) << port.status();
  auto channel = stack.grpc_server()->InProcessChannel(grpc::ChannelArguments());
  const std::string metrics = stack.metrics_address();
  const size_t colon = metrics.rfind(':');
  const auto scrape = [&] {
    httplib::Client client(metrics.substr(0, colon), std::stoi(metrics.substr(colon + 1)));
    client.set_read_timeout(60, 0);
    auto response = client.Get("/metrics");
    return response ? response->body : std::string();
  };
  // The gauges are exported once this server leads maintenance.
  ASSERT_TRUE(testing::PollUntil(
      [&] { return scrape().find("\ncampaignq_queue_pending ") != std::string::npos; },
      testing::Deadline(std::chrono::seconds(20))))
      << "the server never exported the queue gauges";

  pqxx::connection blocker(DatabaseUrl());
  pqxx::work lock(blocker);
  lock.exec0("LOCK TABLE applications IN ACCESS EXCLUSIVE MODE");
  // Scrapes until one blocks (the gauges re-read at most every 500 ms).
  std::atomic<bool> stop{false};
  std::thread scraper([&] {
    while (!stop.load()) scrape();
  });
  pqxx::connection observer(DatabaseUrl());
  const auto scalar = [&](const std::string& query) {
    pqxx::nontransaction txn(observer);
    return txn.exec1(query)[0].as<std::string>();
  };
  EXPECT_TRUE(testing::PollUntil(
      [&] {
        return scalar(
                   "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                   "AND wait_event_type = 'Lock' "
                   "AND query LIKE '%campaignq_micros(min(created_at))%'") != "0";
      },
      testing::Deadline(std::chrono::seconds(20))))
      << "the gauges' query never waited for the lock";
  const std::string blocked_at = scalar("SELECT clock_timestamp()::text");

  // Until the health connection finishes a ping that started after that, or
  // health gives up.
  std::string health = "SERVING";
  EXPECT_TRUE(testing::PollUntil(
      [&] {
        auto checked = server_test::CheckHealth(channel.get(), "");
        health = checked.ok() ? *checked : checked.status().ToString();
        if (health != "SERVING") return true;
        pqxx::nontransaction txn(observer);
        return txn.exec_params1(
                      "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                      "AND application_name = 'campaignq-server-health' AND state = 'idle' "
                      "AND state_change > $1::timestamptz",
                      blocked_at)[0]
                   .as<int64_t>() > 0;
      },
      testing::Deadline(std::chrono::seconds(20))));
  EXPECT_EQ(health, "SERVING") << "health depended on the gauges' query";
  EXPECT_EQ(*server_test::CheckHealth(channel.get(), ""), "SERVING");

  // And the gauges' read itself gives up at its deadline (QueueGauges
  // gives it kReadTimeout), so that a scrape does not hang with the lock.
  db::PoolOptions pool_options;
  pool_options.url = DatabaseUrl();
  pool_options.max_connections = 1;
  db::ConnectionPool pool(pool_options);
  store::CampaignStore store(&pool);
  const auto read_started = steady_clock::now();
  const auto depth = store.GetQueueDepth(absl::Now() + absl::Milliseconds(300));
  EXPECT_EQ(depth.status().code(), absl::StatusCode::kDeadlineExceeded) << depth.status();
  EXPECT_LT(steady_clock::now() - read_started, std::chrono::seconds(5));

  lock.abort();
  stop = true;
  scraper.join();
  channel.reset();
  stack.Stop();
}

TEST(ServerStackTest, ABusyPortIsUnavailableAndExitsOne) {
  ServerStack first(TestServerOptions(DatabaseUrl()));
  ASSERT_TRUE(first.Start().ok());
  ServerOptions options = TestServerOptions(DatabaseUrl());
  options.listen = first.address();
  ServerStack second(options);
  const absl::Status status = second.Start().status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_EQ(ExitCodeForStartFailure("test", status), kExitFailure);
  EXPECT_EQ(second.grpc_server(), nullptr);
  second.Stop();  // after a failed Start: fine
}

TEST(ServerStackTest, VerifyRefusesAnUnmigratedDatabaseAsAUsageError) {
  ServerOptions options = TestServerOptions(testing::FreshDatabaseUrl("stack_verify"));
  options.process.migrate = db::MigrateMode::kVerify;
  ServerStack stack(options);
  const absl::Status status = stack.Start().status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_EQ(ExitCodeForStartFailure("test", status), kExitUsage);
}

TEST(ServerStackTest, MigrateOnlyPreparesTheSchemaAndServesNothing) {
  const std::string url = testing::FreshDatabaseUrl("stack_migrate_only");
  ServerOptions options = TestServerOptions(url);
  options.migrate_only = true;
  ServerStack stack(options);
  absl::StatusOr<int> port = stack.Start();
  ASSERT_TRUE(port.ok()) << port.status();
  EXPECT_EQ(*port, 0);
  EXPECT_EQ(stack.grpc_server(), nullptr);
  auto connection = db::Connect(url, db::ConnectOptions());
  ASSERT_TRUE(connection.ok()) << connection.status();
  EXPECT_TRUE(db::Migrate(**connection, db::MigrateMode::kVerify).ok());
}

// A campaign with closes_at closes by itself within a second of it, as
// CloseCampaign would, with two servers running: exactly one of them leads
// the maintenance that does it (and exports the queue gauges).
TEST(ScheduledCloseTest, OneOfTwoServersClosesTheCampaignAtItsClosesAt) {
  const std::string url = testing::FreshDatabaseUrl("scheduled_close");
  ServerStack first(TestServerOptions(url)), second(TestServerOptions(url));
  ASSERT_TRUE(first.Start().ok());
  ASSERT_TRUE(second.Start().ok());
  auto stub = v1::CampaignQueue::NewStub(first.grpc_server()->InProcessChannel({}));

  v1::CreateCampaignRequest create;
  create.set_name("ticket drop");
  const absl::Time closes_at = absl::Now() + absl::Seconds(2);
  create.mutable_closes_at()->set_seconds(absl::ToUnixSeconds(closes_at));
  create.mutable_closes_at()->set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(closes_at - absl::FromUnixSeconds(absl::ToUnixSeconds(closes_at)))));
  v1::Campaign campaign;
  grpc::ClientContext create_context;
  ASSERT_TRUE(stub->CreateCampaign(&create_context, create, &campaign).ok());
  v1::ApplyRequest apply;
  apply.set_campaign_id(campaign.id());
  apply.set_user_id("early bird");
  v1::Application pending;
  grpc::ClientContext apply_context;
  ASSERT_TRUE(stub->Apply(&apply_context, apply, &pending).ok());

  // Poll the campaign (no worker runs: only the scheduled close decides).
  v1::Campaign seen;
  testing::PollUntil(
      [&] {
        grpc::ClientContext context;
        v1::GetCampaignRequest get;
        get.set_campaign_id(campaign.id());
        return stub->GetCampaign(&context, get, &seen).ok() &&
               seen.status() == v1::CAMPAIGN_STATUS_CLOSED;
      },
      testing::Deadline(std::chrono::seconds(30)));
  ASSERT_EQ(seen.status(), v1::CAMPAIGN_STATUS_CLOSED);
  const absl::Time closed_at = absl::FromUnixMicros(
      google::protobuf::util::TimeUtil::TimestampToMicroseconds(seen.close_time()));
  EXPECT_GE(closed_at, closes_at);
  EXPECT_LE(closed_at, closes_at + absl::Seconds(1));

  grpc::ClientContext get_context;
  v1::GetApplicationRequest get;
  get.set_application_id(pending.id());
  v1::Application rejected;
  ASSERT_TRUE(stub->GetApplication(&get_context, get, &rejected).ok());
  EXPECT_EQ(rejected.status(), v1::APPLICATION_STATUS_REJECTED);
  EXPECT_EQ(rejected.reason(), v1::REJECTION_REASON_CAMPAIGN_CLOSED);
  first.Stop();
  second.Stop();
}

}  // namespace
}  // namespace campaignq::server
