// The server's limits against the test PostgreSQL (support/test_postgres.h):
// the request size limit on the real transport, a call's deadline reaching
// PostgreSQL as statement_timeout (a statement blocked on a lock the test
// holds is cancelled and gone from pg_stat_activity), and the watch caps
// and maximum duration through a real gRPC server. Names are unique per
// run: the database may hold other data.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "campaignq/v1/campaignq.grpc.pb.h"
#include "common/db/pool.h"
#include "common/db/transaction.h"
#include "common/store/campaign_store.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "server/application_watch.h"
#include "server/decision_listener.h"
#include "server/limits/call_limits.h"
#include "server/server_setup.h"
#include "server/server_stack.h"
#include "support/poll.h"
#include "support/test_postgres.h"

namespace campaignq::server {
namespace {

using std::chrono::milliseconds;

constexpr char kStoreApplicationName[] = "campaignq-limits-test-store";

const std::string& DatabaseUrl() {
  static const std::string* url = new std::string(testing::FreshDatabaseUrl("limits"));
  return *url;
}

std::string Unique(absl::string_view prefix) {
  static int counter = 0;
  return absl::StrCat(prefix, "-", getpid(), "-",
                      std::chrono::steady_clock::now().time_since_epoch().count(), "-", ++counter);
}

std::unique_ptr<grpc::ClientContext> Context(milliseconds timeout = milliseconds(10000)) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + timeout);
  return context;
}

// Statements of the test's store that wait for a lock.
int64_t BlockedStatements(const char* application_name = kStoreApplicationName) {
  pqxx::connection connection(DatabaseUrl());
  pqxx::nontransaction txn(connection);
  return txn
      .exec_params(
          "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 "
          "AND wait_event_type = 'Lock'",
          application_name)[0][0]
      .as<int64_t>();
}

// Holds ACCESS EXCLUSIVE on applications (every read of it waits) while alive.
class ApplicationsLocked {
 public:
  ApplicationsLocked() : connection_(DatabaseUrl()), txn_(connection_) {
    txn_.exec("LOCK TABLE applications IN ACCESS EXCLUSIVE MODE");
  }

 private:
  pqxx::connection connection_;
  pqxx::work txn_;
};

// A campaignq service whose only method is WatchApplication with limits.
class LimitedWatch final : public v1::CampaignQueue::Service {
 public:
  LimitedWatch(store::CampaignStore* store, const DecisionListener* listener, CallLimits* limits)
      : store_(store), listener_(listener), limits_(limits) {}
  grpc::Status WatchApplication(grpc::ServerContext* context,
                                const v1::WatchApplicationRequest* request,
                                grpc::ServerWriter<v1::Application>* writer) override {
    return server::WatchApplication(store_, listener_, &estimator_, context,
                                    request->application_id(), writer, limits_, PeerKey(*context));
  }

 private:
  WaitEstimator estimator_;
  store::CampaignStore* store_;
  const DecisionListener* listener_;
  CallLimits* limits_;
};

class LimitsDbTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ServerOptions options;
    options.process.database_url = DatabaseUrl();
    options.listen = "127.0.0.1:0";
    options.pool_size = 4;
    options.shutdown_grace = absl::Seconds(5);
    stack_ = new ServerStack(options);  // migrates the database
    absl::StatusOr<int> port = stack_->Start();
    ASSERT_TRUE(port.ok()) << port.status();
    channel_ = new std::shared_ptr<grpc::Channel>(
        grpc::CreateChannel(stack_->address(), grpc::InsecureChannelCredentials()));
  }
  static void TearDownTestSuite() {
    delete channel_;
    delete stack_;
  }

  void SetUp() override {
    db::PoolOptions pool;
    pool.url = DatabaseUrl();
    pool.connect.application_name = kStoreApplicationName;
    pool.max_connections = 4;
    pool_ = std::make_unique<db::ConnectionPool>(pool);
    store_ = std::make_unique<store::CampaignStore>(pool_.get());
    DecisionListenerOptions listener;
    listener.database_url = DatabaseUrl();
    listener_ = std::make_unique<DecisionListener>(listener);
    listener_->Start();
  }

  void TearDown() override {
    if (watch_server_ != nullptr) watch_server_->Shutdown(std::chrono::system_clock::now());
    listener_->Stop();
  }

  v1::CampaignQueue::Stub Stub() { return v1::CampaignQueue::Stub(*channel_); }

  // A pending application (no worker runs: it stays pending).
  v1::Application PendingApplication() {
    v1::CampaignQueue::Stub stub = Stub();
    v1::CreateCampaignRequest create;
    create.set_name(Unique("campaign"));
    v1::Campaign campaign;
    grpc::Status status = stub.CreateCampaign(Context().get(), create, &campaign);
    EXPECT_TRUE(status.ok()) << status.error_message();
    v1::ApplyRequest apply;
    apply.set_campaign_id(campaign.id());
    apply.set_user_id(Unique("user"));
    v1::Application application;
    status = stub.Apply(Context().get(), apply, &application);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return application;
  }

  // Serves LimitedWatch with `options`; returns a stub to it.
  std::unique_ptr<v1::CampaignQueue::Stub> ServeWatch(const LimitOptions& options) {
    limits_ = std::make_unique<CallLimits>(options);
    watch_service_ = std::make_unique<LimitedWatch>(store_.get(), listener_.get(), limits_.get());
    ServerSetup setup;
    setup.listen = "127.0.0.1:0";
    setup.max_threads = 16;
    setup.limits = options;
    int port = 0;
    watch_server_ = BuildAndStartServer(setup, watch_service_.get(), &port);
    EXPECT_NE(watch_server_, nullptr);
    return v1::CampaignQueue::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }

  static ServerStack* stack_;
  static std::shared_ptr<grpc::Channel>* channel_;
  std::unique_ptr<db::ConnectionPool> pool_;
  std::unique_ptr<store::CampaignStore> store_;
  std::unique_ptr<DecisionListener> listener_;
  std::unique_ptr<CallLimits> limits_;
  std::unique_ptr<LimitedWatch> watch_service_;
  std::unique_ptr<grpc::Server> watch_server_;
};

ServerStack* LimitsDbTest::stack_ = nullptr;
std::shared_ptr<grpc::Channel>* LimitsDbTest::channel_ = nullptr;

TEST_F(LimitsDbTest, RequestOverTheSizeLimitIsResourceExhausted) {
  const v1::Application ok = PendingApplication();  // a normal request passes
  ASSERT_GT(ok.id(), 0);
  v1::ApplyRequest apply;
  apply.set_campaign_id(ok.campaign_id());
  apply.set_user_id(std::string(LimitOptions().max_receive_message_bytes + 1, 'x'));
  v1::Application application;
  const grpc::Status status = Stub().Apply(Context().get(), apply, &application);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
}

TEST_F(LimitsDbTest, StoreCallPastItsDeadlineIsCancelledInPostgres) {
  const v1::Application application = PendingApplication();
  ApplicationsLocked locked;
  const absl::Time start = absl::Now();
  absl::StatusOr<v1::Application> read =
      store_->GetApplication(application.id(), start + absl::Milliseconds(300));
  EXPECT_EQ(read.status().code(), absl::StatusCode::kDeadlineExceeded) << read.status();
  // Not waited out until the lock went away: cancelled at the deadline.
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_TRUE(testing::PollUntil([] { return BlockedStatements() == 0; },
                                 testing::Deadline(std::chrono::seconds(10))));

  // Apply, through the group-commit batcher, the same.
  v1::ApplyRequest apply;
  apply.set_campaign_id(application.campaign_id());
  apply.set_user_id(Unique("user"));
  absl::StatusOr<v1::Application> applied =
      store_->Apply(apply, absl::Now() + absl::Milliseconds(300));
  EXPECT_EQ(applied.status().code(), absl::StatusCode::kDeadlineExceeded) << applied.status();
  EXPECT_TRUE(testing::PollUntil([] { return BlockedStatements() == 0; },
                                 testing::Deadline(std::chrono::seconds(10))));

  // A deadline already passed never reaches the database.
  EXPECT_EQ(
      store_->GetApplication(application.id(), absl::Now() - absl::Seconds(1)).status().code(),
      absl::StatusCode::kDeadlineExceeded);
}

TEST_F(LimitsDbTest, WaitingForAPooledConnectionEndsAtTheDeadline) {
  db::PoolOptions options;
  options.url = DatabaseUrl();
  options.max_connections = 1;
  options.acquire_timeout = std::chrono::milliseconds(60000);
  db::ConnectionPool pool(options);
  absl::StatusOr<db::PooledConnection> held = pool.Acquire();
  ASSERT_TRUE(held.ok()) << held.status();
  const absl::Time start = absl::Now();
  absl::StatusOr<db::PooledConnection> waited = pool.Acquire(start + absl::Milliseconds(200));
  EXPECT_EQ(waited.status().code(), absl::StatusCode::kDeadlineExceeded) << waited.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(30));
}

TEST_F(LimitsDbTest, StatementTimeoutIsLoweredToTheDeadlineButNeverRaised) {
  absl::StatusOr<db::PooledConnection> connection = pool_->Acquire();
  ASSERT_TRUE(connection.ok()) << connection.status();
  const absl::Status status =
      db::InTransaction(**connection, [](db::ReadCommittedTransaction& txn) -> absl::Status {
        const auto current = [&] {
          return txn.exec("SELECT current_setting('statement_timeout')")[0][0].as<std::string>();
        };
        txn.exec("SET LOCAL statement_timeout = '2s'");  // as a role's would be
        db::LimitStatementsTo(txn, absl::Now() + absl::Minutes(5));
        EXPECT_EQ(current(), "2s");
        db::LimitStatementsTo(txn, absl::Now() + absl::Milliseconds(900));
        const std::string lowered = current();
        EXPECT_TRUE(lowered.size() > 2 && lowered.substr(lowered.size() - 2) == "ms") << lowered;
        EXPECT_LE(std::stoi(lowered), 900) << lowered;
        txn.exec("SET LOCAL statement_timeout = 0");  // none
        db::LimitStatementsTo(txn, absl::Now() + absl::Minutes(5));
        EXPECT_EQ(current(), "5min");
        return absl::OkStatus();
      });
  EXPECT_TRUE(status.ok()) << status;
}

TEST_F(LimitsDbTest, CallWithoutDeadlineGetsTheServersCapAndItsSqlStops) {
  const v1::Application application = PendingApplication();
  LimitOptions options;
  options.max_call_deadline = absl::Milliseconds(500);
  std::unique_ptr<v1::CampaignQueue::Stub> stub = ServeWatch(options);
  ApplicationsLocked locked;
  grpc::ClientContext context;  // no deadline of its own
  v1::WatchApplicationRequest request;
  request.set_application_id(application.id());
  auto reader = stub->WatchApplication(&context, request);
  v1::Application update;
  EXPECT_FALSE(reader->Read(&update));
  const grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << status.error_message();
  EXPECT_NE(status.error_message().find("request_id="), std::string::npos);
  EXPECT_TRUE(testing::PollUntil([] { return BlockedStatements() == 0; },
                                 testing::Deadline(std::chrono::seconds(10))));
}

TEST_F(LimitsDbTest, WatchEndsOkWithTheLastStateAtTheMaximumDuration) {
  const v1::Application application = PendingApplication();
  LimitOptions options;
  options.max_watch_duration = absl::Milliseconds(300);
  std::unique_ptr<v1::CampaignQueue::Stub> stub = ServeWatch(options);
  auto context = Context();
  v1::WatchApplicationRequest request;
  request.set_application_id(application.id());
  auto reader = stub->WatchApplication(context.get(), request);
  v1::Application last;
  int messages = 0;
  for (v1::Application update; reader->Read(&update); ++messages) last = update;
  const grpc::Status status = reader->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_GE(messages, 1);
  EXPECT_EQ(last.id(), application.id());
  EXPECT_EQ(last.status(), v1::APPLICATION_STATUS_PENDING);
}

TEST_F(LimitsDbTest, WatchesBeyondTheCallersCapAreResourceExhaustedWithRetryInfo) {
  const v1::Application application = PendingApplication();
  LimitOptions options;
  options.max_watches_per_key = 2;
  std::unique_ptr<v1::CampaignQueue::Stub> stub = ServeWatch(options);
  v1::WatchApplicationRequest request;
  request.set_application_id(application.id());

  struct Open {
    std::unique_ptr<grpc::ClientContext> context;
    std::unique_ptr<grpc::ClientReader<v1::Application>> reader;
  };
  std::vector<Open> open;
  for (int i = 0; i < 2; ++i) {
    Open watch{Context(), nullptr};
    watch.reader = stub->WatchApplication(watch.context.get(), request);
    v1::Application first;
    ASSERT_TRUE(watch.reader->Read(&first));  // its slot is taken
    open.push_back(std::move(watch));
  }
  auto context = Context();
  auto refused = stub->WatchApplication(context.get(), request);
  v1::Application unused;
  EXPECT_FALSE(refused->Read(&unused));
  const grpc::Status status = refused->Finish();
  ASSERT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(status.error_details()));
  bool has_retry_info = false;
  for (const auto& any : details.details()) {
    google::rpc::RetryInfo retry;
    if (any.UnpackTo(&retry)) has_retry_info = retry.retry_delay().seconds() > 0;
  }
  EXPECT_TRUE(has_retry_info);

  // Ending a watch gives its slot back.
  open.back().context->TryCancel();
  open.back().reader->Finish();
  open.pop_back();
  const std::string key = "ipv4:127.0.0.1";
  EXPECT_TRUE(testing::PollUntil([&] { return limits_->watch_slots().open(key) == 1; },
                                 testing::Deadline(std::chrono::seconds(10))))
      << limits_->watch_slots().open(key);
  for (Open& watch : open) {
    watch.context->TryCancel();
    watch.reader->Finish();
  }
}

// --- the limits as campaignq-server runs them (ServerStack: every handler
// admits the call through its caller's token bucket and passes the call's
// capped deadline to the store) --------------------------------------------------

constexpr char kServerApplicationName[] = "campaignq-server";

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
  EXPECT_TRUE(testing::PollUntil([] { return BlockedStatements(kServerApplicationName) == 0; },
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
