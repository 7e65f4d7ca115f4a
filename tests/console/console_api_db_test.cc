// db tier: the console's JSON API (server/console/console_api.h) over a real
// store, its HTTP front (auth, CSRF and rebinding checks, assets, the event
// stream), the coalescing live view, and the worker heartbeats
// (common/store/worker_heartbeat.h). One fresh migrated database per test.

#include <httplib.h>

#include <chrono>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <pqxx/pqxx>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/db/connect.h"
#include "common/db/migrator.h"
#include "common/db/pool.h"
#include "common/queue/claim.h"
#include "common/store/campaign_store.h"
#include "common/store/worker_heartbeat.h"
#include "gtest/gtest.h"
#include "server/console/console_api.h"
#include "server/console/console_auth.h"
#include "server/console/console_live.h"
#include "server/console/console_server.h"
#include "server/decision_listener.h"
#include "support/test_postgres.h"

namespace campaignq {
namespace {

using nlohmann::json;
using server::console::ApiRequest;
using server::console::ApiResponse;
using server::console::Principal;

template <typename T>
T Must(absl::StatusOr<T> result, const char* what = "") {
  if (!result.ok()) {
    ADD_FAILURE() << what << ": " << result.status();
    throw std::runtime_error(result.status().ToString());
  }
  return *std::move(result);
}

const Principal kAdmin{"admin", true, true};
const Principal kObserver{"observer", false, false};

class ConsoleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    url_ = testing::FreshDatabaseUrl(info->name());
    sql_ = Must(db::Connect(url_, {}), "connect");
    ASSERT_TRUE(db::Migrate(*sql_, db::MigrateMode::kAuto).ok());
    db::PoolOptions options;
    options.url = url_;
    options.max_connections = 4;
    pool_ = std::make_unique<db::ConnectionPool>(options);
    store_ = std::make_unique<store::CampaignStore>(pool_.get());
    live_ = std::make_unique<server::console::ConsoleLive>(store_.get(), pool_.get(), nullptr);
    api_ = std::make_unique<server::console::ConsoleApi>(store_.get(), pool_.get(), live_.get());
  }

  int64_t Create(const std::string& name, std::optional<int32_t> cap) {
    v1::CreateCampaignRequest request;
    request.set_name(name);
    if (cap) request.set_max_participants(*cap);
    return Must(store_->CreateCampaign(request)).id();
  }

  int64_t Apply(int64_t campaign, const std::string& user) {
    v1::ApplyRequest request;
    request.set_campaign_id(campaign);
    request.set_user_id(user);
    return Must(store_->Apply(request)).id();
  }

  void DecideAll(int64_t campaign) {
    for (;;) {
      const queue::BatchResult result =
          queue::ClaimProtocol(sql_.get()).DecideCampaign(campaign, 10);
      ASSERT_TRUE(result.status.ok()) << result.status;
      if (result.decisions.empty()) return;
    }
  }

  std::string Scalar(const std::string& query) {
    pqxx::nontransaction txn(*sql_);
    return txn.exec(query)[0][0].as<std::string>();
  }

  void Exec(const std::string& statement) {
    pqxx::nontransaction txn(*sql_);
    txn.exec(statement);
  }

  // The response's JSON, after checking its HTTP status.
  json Call(const std::string& method, const std::string& path, int want_status,
            const Principal& principal = kAdmin, std::map<std::string, std::string> query = {}) {
    ApiRequest request{method, path, std::move(query), principal};
    const ApiResponse response = api_->Handle(request);
    EXPECT_EQ(response.http_status, want_status) << method << " " << path << ": " << response.body;
    return json::parse(response.body);
  }

  std::string url_;
  std::unique_ptr<db::Connection> sql_;
  std::unique_ptr<db::ConnectionPool> pool_;
  std::unique_ptr<store::CampaignStore> store_;
  std::unique_ptr<server::console::ConsoleLive> live_;
  std::unique_ptr<server::console::ConsoleApi> api_;
};

TEST_F(ConsoleTest, OverviewShowsOpenCampaignsWithTheirFill) {
  const int64_t capped = Create("capped", 2);
  const int64_t unlimited = Create("unlimited", std::nullopt);
  for (const char* user : {"a", "b", "c"}) Apply(capped, user);
  DecideAll(capped);
  Apply(unlimited, "d");

  const json overview = Call("GET", "/api/overview", 200);
  EXPECT_EQ(overview["pending"], 1);
  EXPECT_EQ(overview["waitlisted"], 1);
  EXPECT_EQ(overview["approved"], 2);
  EXPECT_TRUE(overview["rate"].is_array());
  EXPECT_EQ(overview["workers"]["alive"], 0);
  ASSERT_EQ(overview["campaigns"].size(), 2u);
  const json& first = overview["campaigns"][0];
  EXPECT_EQ(first["id"], capped);
  EXPECT_EQ(first["name"], "capped");
  EXPECT_EQ(first["cap"], 2);
  EXPECT_EQ(first["approved"], 2);
  EXPECT_EQ(first["waitlisted"], 1);
  EXPECT_EQ(first["pending"], 0);
  EXPECT_EQ(first["status"], "open");
  EXPECT_TRUE(overview["campaigns"][1]["cap"].is_null());
  EXPECT_EQ(overview["campaigns"][1]["pending"], 1);

  // The campaign page: the same counts, and the fill sample just taken.
  const json detail = Call("GET", absl::StrCat("/api/campaigns/", capped), 200);
  EXPECT_EQ(detail["campaign"]["approved"], 2);
  EXPECT_EQ(detail["counts"]["waitlisted"], 1);
  ASSERT_EQ(detail["fill"].size(), 1u);
  EXPECT_EQ(detail["fill"][0][1], 2);
  EXPECT_EQ(detail["actions"],
            json::array({"close", "pause", "resume", "retry-failed", "retry-application"}));
  EXPECT_EQ(Call("GET", absl::StrCat("/api/campaigns/", capped), 200, kObserver)["actions"],
            json::array());
}

TEST_F(ConsoleTest, ApplicationsArePagedFilteredAndHideUserIdsFromObservers) {
  const int64_t campaign = Create("list", 1);
  for (int i = 0; i < 5; ++i) Apply(campaign, absl::StrCat("user-", i));
  DecideAll(campaign);
  const std::string path = absl::StrCat("/api/campaigns/", campaign, "/applications");

  const json approved = Call("GET", path, 200, kAdmin, {{"status", "approved"}});
  ASSERT_EQ(approved["applications"].size(), 1u);
  EXPECT_EQ(approved["applications"][0]["user_id"], "user-0");
  EXPECT_EQ(approved["applications"][0]["status"], "approved");

  const json page1 = Call("GET", path, 200, kAdmin, {{"status", "waitlisted"}, {"page_size", "3"}});
  ASSERT_EQ(page1["applications"].size(), 3u);
  ASSERT_FALSE(page1["next_page_token"].get<std::string>().empty());
  const json page2 = Call("GET", path, 200, kAdmin,
                          {{"status", "waitlisted"},
                           {"page_size", "3"},
                           {"page_token", page1["next_page_token"].get<std::string>()}});
  ASSERT_EQ(page2["applications"].size(), 1u);
  EXPECT_TRUE(page2["next_page_token"].get<std::string>().empty());
  EXPECT_GT(page2["applications"][0]["id"], page1["applications"][2]["id"]);

  const json hidden = Call("GET", path, 200, kObserver);
  ASSERT_EQ(hidden["applications"].size(), 5u);
  for (const json& application : hidden["applications"]) {
    EXPECT_FALSE(application.contains("user_id"));
    EXPECT_FALSE(application.contains("last_error"));
  }

  EXPECT_EQ(Call("GET", path, 400, kAdmin, {{"status", "bogus"}})["code"], "INVALID_ARGUMENT");
  EXPECT_EQ(Call("GET", path, 400, kAdmin, {{"page_size", "0"}})["code"], "INVALID_ARGUMENT");
  EXPECT_EQ(Call("GET", "/api/campaigns/999/applications", 200)["applications"].size(), 0u);
  EXPECT_EQ(Call("GET", "/api/campaigns/999", 404)["code"], "NOT_FOUND");
  EXPECT_EQ(Call("GET", "/api/campaigns/x", 400)["code"], "INVALID_ARGUMENT");
  EXPECT_EQ(Call("GET", "/api/nothing", 404)["code"], "NOT_FOUND");
}

TEST_F(ConsoleTest, FailedListsLastErrorForAdminsOnly) {
  const int64_t campaign = Create("failing", 5);
  const int64_t ok = Apply(campaign, "fine");
  const int64_t bad = Apply(campaign, "poison");
  Exec(campaignq::testing::MarkFailedSql(bad, "poison refused"));
  const json failed = Call("GET", "/api/failed", 200);
  ASSERT_EQ(failed["applications"].size(), 1u);
  EXPECT_EQ(failed["applications"][0]["id"], bad);
  EXPECT_EQ(failed["applications"][0]["attempts"], 3);
  EXPECT_EQ(failed["applications"][0]["last_error"], "poison refused");
  EXPECT_FALSE(
      Call("GET", "/api/failed", 200, kObserver)["applications"][0].contains("last_error"));
  EXPECT_EQ(Call("GET", "/api/failed", 200, kAdmin, {{"campaign", "999"}})["applications"].size(),
            0u);
  (void)ok;
}

TEST_F(ConsoleTest, CloseNeedsAdminAndClosesInTheDatabase) {
  const int64_t campaign = Create("closing", 5);
  Apply(campaign, "waiting");
  const std::string close = absl::StrCat("/api/campaigns/", campaign, "/close");
  EXPECT_EQ(Call("POST", close, 403, kObserver)["code"], "PERMISSION_DENIED");
  EXPECT_EQ(Scalar(absl::StrCat("SELECT status FROM campaigns WHERE id = ", campaign)), "open");

  const json closed = Call("POST", close, 200);
  EXPECT_EQ(closed["campaign"]["status"], "closed");
  EXPECT_FALSE(closed["campaign"]["closed_ms"].is_null());
  EXPECT_EQ(Scalar(absl::StrCat("SELECT status FROM campaigns WHERE id = ", campaign)), "closed");
  EXPECT_EQ(Scalar(absl::StrCat("SELECT status FROM applications WHERE campaign_id = ", campaign)),
            "rejected");
  EXPECT_EQ(Call("POST", "/api/campaigns/999/close", 404)["code"], "NOT_FOUND");
  EXPECT_EQ(Call("POST", absl::StrCat("/api/campaigns/", campaign, "/explode"), 404)["code"],
            "NOT_FOUND");
}

TEST_F(ConsoleTest, PauseResumeAndRetryChangeTheDatabase) {
  const int64_t campaign = Create("operations", 5);
  const std::string base = absl::StrCat("/api/campaigns/", campaign);
  EXPECT_EQ(Call("POST", base + "/pause", 403, kObserver)["code"], "PERMISSION_DENIED");
  EXPECT_EQ(Call("POST", base + "/pause", 200)["campaign"]["paused"], true);
  EXPECT_EQ(Scalar(absl::StrCat("SELECT paused FROM campaigns WHERE id = ", campaign)), "t");
  EXPECT_EQ(Call("GET", base, 200)["campaign"]["paused"], true);
  EXPECT_EQ(Call("POST", base + "/resume", 200)["campaign"]["paused"], false);
  EXPECT_EQ(Scalar(absl::StrCat("SELECT paused FROM campaigns WHERE id = ", campaign)), "f");

  auto fail = [&](int64_t id) { Exec(campaignq::testing::MarkFailedSql(id, "boom")); };
  const int64_t one = Apply(campaign, "one");
  const int64_t two = Apply(campaign, "two");
  const int64_t three = Apply(campaign, "three");
  fail(one);
  fail(two);
  fail(three);
  const json retried = Call("POST", absl::StrCat("/api/applications/", one, "/retry"), 200);
  EXPECT_EQ(retried["application"]["status"], "pending");
  EXPECT_EQ(retried["application"]["attempts"], 0);
  EXPECT_EQ(Scalar(absl::StrCat("SELECT status FROM applications WHERE id = ", one)), "pending");
  EXPECT_EQ(Call("POST", absl::StrCat("/api/applications/", one, "/retry"), 409)["code"],
            "FAILED_PRECONDITION");
  EXPECT_EQ(Call("POST", base + "/retry-failed", 200)["retried"], 2);
  EXPECT_EQ(Scalar(absl::StrCat("SELECT count(*) FROM applications WHERE status = 'pending' ",
                                "AND campaign_id = ", campaign)),
            "3");

  // Retry all: every open campaign's failed applications; a closed one's stay.
  const int64_t other = Create("other", 5);
  const int64_t closed = Create("closed", 5);
  const int64_t four = Apply(other, "four");
  const int64_t five = Apply(closed, "five");
  fail(four);
  fail(five);
  Call("POST", absl::StrCat("/api/campaigns/", closed, "/close"), 200);
  EXPECT_EQ(Call("POST", "/api/failed/retry-all", 403, kObserver)["code"], "PERMISSION_DENIED");
  const json all = Call("POST", "/api/failed/retry-all", 200);
  EXPECT_EQ(all["retried"], 1);
  EXPECT_EQ(all["skipped_closed_campaigns"], 1);
  EXPECT_EQ(Scalar(absl::StrCat("SELECT status FROM applications WHERE id = ", four)), "pending");
  EXPECT_EQ(Scalar(absl::StrCat("SELECT status FROM applications WHERE id = ", five)), "failed");
}

TEST_F(ConsoleTest, WorkersComeFromHeartbeats) {
  store::WorkerHeartbeatOptions options;
  options.database_url = url_;
  options.host = "host-a";
  options.pid = 42;
  options.lock_mode = "skip_locked";
  options.threads = 4;
  int64_t decided = 0;
  options.totals = [&decided] { return store::WorkerTotals{decided, 1}; };
  store::WorkerHeartbeat heartbeat(options);
  ASSERT_TRUE(heartbeat.BeatOnce().ok());
  decided = 25;
  ASSERT_TRUE(heartbeat.BeatOnce().ok());

  const json workers = Call("GET", "/api/workers", 200);
  ASSERT_EQ(workers["workers"].size(), 1u);
  const json& w = workers["workers"][0];
  EXPECT_EQ(w["id"], heartbeat.worker_id());
  EXPECT_TRUE(absl::StartsWith(heartbeat.worker_id(), "host-a:42:"));
  EXPECT_EQ(w["host"], "host-a");
  EXPECT_EQ(w["pid"], 42);
  EXPECT_EQ(w["lock_mode"], "skip_locked");
  EXPECT_EQ(w["threads"], 4);
  EXPECT_EQ(w["state"], "alive");
  EXPECT_EQ(w["decided_last_minute"], 25);  // 25 since the first beat, within the minute
  EXPECT_EQ(w["errors_last_minute"], 0);
  EXPECT_EQ(workers["gone_after_intervals"], store::kGoneAfterIntervals);
  EXPECT_EQ(Call("GET", "/api/overview", 200)["workers"]["alive"], 1);
}

TEST_F(ConsoleTest, HeartbeatStatesAndPruning) {
  auto beat = [&](const std::string& id) {
    store::WorkerHeartbeatOptions options;
    options.database_url = url_;
    options.worker_id = id;
    options.lock_mode = "skip_locked";
    options.interval = std::chrono::milliseconds(1000);
    options.prune_after = std::chrono::seconds(3600);
    return std::make_unique<store::WorkerHeartbeat>(options);
  };
  auto alive = beat("alive");
  auto gone = beat("gone");
  auto old = beat("old");
  ASSERT_TRUE(gone->BeatOnce().ok());
  ASSERT_TRUE(old->BeatOnce().ok());
  // No beat for more than 3 intervals (3 s): gone. Two hours: pruned.
  Exec(
      "UPDATE worker_heartbeats SET last_seen_at = now() - interval '4 seconds' "
      "WHERE worker_id = 'gone'");
  Exec(
      "UPDATE worker_heartbeats SET last_seen_at = now() - interval '2 hours' "
      "WHERE worker_id = 'old'");
  ASSERT_TRUE(alive->BeatOnce().ok());  // its first beat prunes
  std::map<std::string, std::string> states;
  for (const store::WorkerStatus& w : Must(store::ListWorkers(pool_.get()))) {
    states[w.worker_id] = store::WorkerStateName(w.state);
  }
  EXPECT_EQ(states, (std::map<std::string, std::string>{{"alive", "alive"}, {"gone", "gone"}}));

  // A clean stop reads as stopped, not gone.
  alive->Start();
  alive->Stop();
  for (const store::WorkerStatus& w : Must(store::ListWorkers(pool_.get()))) {
    if (w.worker_id == "alive") {
      EXPECT_EQ(w.state, store::WorkerStatus::State::kStopped);
    }
  }
}

TEST_F(ConsoleTest, LiveViewCoalescesNotificationsIntoFewSnapshots) {
  const int64_t campaign = Create("live", 10);
  server::DecisionListenerOptions listener_options;
  listener_options.database_url = url_;
  server::DecisionListener listener(listener_options);
  server::console::ConsoleLiveOptions options;
  options.min_interval = std::chrono::milliseconds(300);
  server::console::ConsoleLive live(store_.get(), pool_.get(), &listener, options);
  live.Start();
  // A viewer asks for a first snapshot at once.
  auto viewer = std::make_unique<server::console::ConsoleLive::Viewer>(&live);
  const auto first = live.WaitNewer(0, std::chrono::steady_clock::now() + std::chrono::seconds(30));
  ASSERT_GT(first.seq, 0u);
  EXPECT_TRUE(absl::StrContains(first.json, "\"name\":\"live\""));

  // 200 notifications: at most one snapshot per min_interval, plus the one
  // that may be due already.
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 200; ++i) listener.OnNotification(std::to_string(campaign));
  Apply(campaign, "x");
  listener.OnNotification(std::to_string(campaign));
  // The change shows up in a later snapshot.
  uint64_t seen = first.seq;
  for (;;) {
    const auto snapshot =
        live.WaitNewer(seen, std::chrono::steady_clock::now() + std::chrono::seconds(30));
    ASSERT_GT(snapshot.seq, seen) << "no snapshot after a notification";
    seen = snapshot.seq;
    if (json::parse(snapshot.json)["pending"] == 1) break;
  }
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LE(seen - first.seq, 2 + static_cast<uint64_t>(elapsed / 0.3)) << elapsed << " s";
  viewer.reset();
  live.Stop();
  EXPECT_TRUE(live.WaitNewer(seen, std::chrono::steady_clock::now()).stopped);
}

TEST(ConsoleAuth, LoopbackOnlyWithoutAnAuthorizer) {
  using server::console::CheckConsoleListen;
  EXPECT_TRUE(CheckConsoleListen("127.0.0.1:0", false).ok());
  EXPECT_TRUE(CheckConsoleListen("localhost:8080", false).ok());
  EXPECT_TRUE(CheckConsoleListen("[::1]:8080", false).ok());
  EXPECT_EQ(CheckConsoleListen("0.0.0.0:8080", false).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(CheckConsoleListen("10.1.2.3:8080", false).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(CheckConsoleListen("0.0.0.0:8080", true).ok());
  EXPECT_EQ(CheckConsoleListen("nonsense", false).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckConsoleListen("127.0.0.1:99999", false).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ConsoleAuth, RolesFromTheAuthorizer) {
  using server::console::Authenticate;
  server::console::Authorizer authorizer =
      [](const std::string& token) -> absl::StatusOr<std::string> {
    if (token == "a") return std::string("admin");
    if (token == "o") return std::string("observer");
    if (token == "u") return std::string("applicant");
    return absl::UnauthenticatedError("no");
  };
  EXPECT_TRUE(Must(Authenticate(nullptr, "")).may_act);
  EXPECT_TRUE(Must(Authenticate(authorizer, "Bearer a")).may_act);
  const Principal observer = Must(Authenticate(authorizer, "Bearer o"));
  EXPECT_FALSE(observer.may_act);
  EXPECT_FALSE(observer.sees_user_ids);
  EXPECT_EQ(Authenticate(authorizer, "Bearer u").status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Authenticate(authorizer, "Bearer x").status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Authenticate(authorizer, "").status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Authenticate(authorizer, "Basic a").status().code(),
            absl::StatusCode::kUnauthenticated);
}

// The HTTP front: assets with their headers, CSRF and DNS-rebinding checks,
// the event stream.
TEST_F(ConsoleTest, HttpServesAssetsChecksOriginsAndStreamsSnapshots) {
  const int64_t campaign = Create("http", 3);
  server::console::ConsoleServerOptions options;
  options.store = store_.get();
  options.pool = pool_.get();
  server::console::ConsoleServer console(options);
  EXPECT_EQ(console.Start("0.0.0.0:0").status().code(), absl::StatusCode::kFailedPrecondition);
  server::console::ConsoleServer console2(options);
  const int port = Must(console2.Start("127.0.0.1:0"));
  httplib::Client client("127.0.0.1", port);
  const std::string host = absl::StrCat("127.0.0.1:", port);

  auto page = client.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_TRUE(absl::StrContains(page->body, "<script src=\"/app.js\""));
  EXPECT_TRUE(
      absl::StrContains(page->get_header_value("Content-Security-Policy"), "default-src 'none'"));
  auto script = client.Get("/app.js");
  ASSERT_TRUE(script);
  EXPECT_TRUE(absl::StartsWith(script->get_header_value("Content-Type"), "text/javascript"));
  EXPECT_EQ(client.Get("/missing.js")->status, 404);

  // A rebinding attack's Host is refused.
  EXPECT_EQ(client.Get("/api/overview", {{"Host", "evil.example:80"}})->status, 403);
  const std::string close = absl::StrCat("/api/campaigns/", campaign, "/close");
  // No Authorization header (a cross-site form): refused.
  EXPECT_EQ(client.Post(close, "", "text/plain")->status, 403);
  // Another origin: refused.
  EXPECT_EQ(client
                .Post(close, {{"Authorization", "Bearer x"}, {"Origin", "http://evil.example"}}, "",
                      "text/plain")
                ->status,
            403);
  EXPECT_EQ(Scalar(absl::StrCat("SELECT status FROM campaigns WHERE id = ", campaign)), "open");
  auto closed =
      client.Post(close, {{"Authorization", "Bearer x"}, {"Origin", absl::StrCat("http://", host)}},
                  "", "text/plain");
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->status, 200) << closed->body;
  EXPECT_EQ(Scalar(absl::StrCat("SELECT status FROM campaigns WHERE id = ", campaign)), "closed");

  // The event stream: its first event is an overview snapshot.
  std::string received;
  auto stream = client.Get("/api/events", [&](const char* data, size_t length) {
    received.append(data, length);
    return !absl::StrContains(received, "\n\n");
  });
  EXPECT_TRUE(absl::StrContains(received, "event: overview\ndata: {")) << received;
  console2.Stop();
}

// Issue 19 defect 5: every error a console client reads follows the one
// rule of the gRPC side (server/client_message.h): libpq's and PostgreSQL's
// text (hosts, ports, roles, SQLSTATEs) stays in the log, whatever the HTTP
// status. Two database errors that are not 500s: a connection refused for
// its role (UNAVAILABLE, 503) and a lock timeout (ABORTED, 409).
TEST_F(ConsoleTest, ErrorsSayNoDatabaseText) {
  const int64_t campaign = Create("leak", 5);
  {
    db::PoolOptions options;
    options.url = testing::UrlWithUser(url_, "campaignq_no_such_role");
    options.max_connections = 1;
    db::ConnectionPool pool(options);
    store::CampaignStore store(&pool);
    server::console::ConsoleLive live(&store, &pool, nullptr);
    server::console::ConsoleApi api(&store, &pool, &live);
    const ApiResponse response =
        api.Handle({"GET", absl::StrCat("/api/campaigns/", campaign), {}, kAdmin});
    EXPECT_EQ(response.http_status, 503) << response.body;
    const json body = json::parse(response.body);
    EXPECT_EQ(body["code"], "UNAVAILABLE");
    EXPECT_EQ(body["error"], "the service is temporarily unavailable; retry") << response.body;
    for (const char* text : {"campaignq_no_such_role", "FATAL", "port", "sqlstate", "role"}) {
      EXPECT_FALSE(absl::StrContains(response.body, text)) << text << " in " << response.body;
    }
  }
  {
    // A lock timeout of the database's own settings, not the call's
    // deadline: PostgreSQL's error (55P03) reaches the store as it is.
    Exec(absl::StrCat("ALTER DATABASE ", Scalar("SELECT quote_ident(current_database())"),
                      " SET lock_timeout = '50ms'"));
    db::PoolOptions options;
    options.url = url_;
    options.max_connections = 1;
    db::ConnectionPool pool(options);
    store::CampaignStore store(&pool);
    server::console::ConsoleLive live(&store, &pool, nullptr);
    server::console::ConsoleApi api(&store, &pool, &live);
    pqxx::connection holder(url_);
    pqxx::work lock(holder);
    lock.exec("LOCK TABLE campaigns IN ACCESS EXCLUSIVE MODE");
    const ApiResponse response =
        api.Handle({"POST", absl::StrCat("/api/campaigns/", campaign, "/pause"), {}, kAdmin});
    lock.abort();
    EXPECT_EQ(response.http_status, 409) << response.body;
    const json body = json::parse(response.body);
    EXPECT_EQ(body["code"], "ABORTED");
    EXPECT_EQ(body["error"], "the request conflicted with a concurrent one; retry")
        << response.body;
    for (const char* text : {"lock timeout", "sqlstate", "55P03", "canceling"}) {
      EXPECT_FALSE(absl::StrContains(response.body, text)) << text << " in " << response.body;
    }
  }
}

// Issue 19 defect 4: a console list page holds a request-pool connection,
// so it runs to a deadline: one that cannot read (the table locked by
// someone else) answers 504 when its deadline passes and gives the
// connection back, instead of waiting as long as the lock is held.
TEST_F(ConsoleTest, ListPagesEndAtTheirDeadline) {
  const int64_t campaign = Create("slow", 5);
  server::console::ConsoleApiOptions options;
  options.call_deadline = absl::Milliseconds(300);
  server::console::ConsoleApi api(store_.get(), pool_.get(), live_.get(), options);
  pqxx::connection holder(url_);
  pqxx::work lock(holder);
  lock.exec("LOCK TABLE applications IN ACCESS EXCLUSIVE MODE");
  const std::vector<std::string> paths{absl::StrCat("/api/campaigns/", campaign, "/applications"),
                                       "/api/failed"};
  for (const std::string& path : paths) {
    const absl::Time start = absl::Now();
    std::future<ApiResponse> page = std::async(std::launch::async, [&] {
      return api.Handle({"GET", path, {}, kAdmin});
    });
    // Bounded wait, so that a page without a deadline fails here instead
    // of hanging the test while the lock is held.
    if (page.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
      lock.abort();
      ADD_FAILURE() << path << ": no answer after 20 s while applications was locked";
      page.wait();
      return;
    }
    const ApiResponse response = page.get();
    EXPECT_EQ(response.http_status, 504) << path << ": " << response.body;
    EXPECT_EQ(json::parse(response.body)["error"], "the call's deadline passed before it completed")
        << response.body;
    EXPECT_LT(absl::Now() - start, absl::Seconds(10)) << path;
  }
}

// A principal's list pages are rate limited (a token bucket per role): a
// burst past it answers 429, other roles and the other pages go on.
TEST_F(ConsoleTest, ListPagesAreRateLimitedPerRole) {
  const int64_t campaign = Create("busy", 5);
  const std::string page = absl::StrCat("/api/campaigns/", campaign, "/applications");
  int ok = 0;
  int limited = 0;
  for (int i = 0; i < 100; ++i) {
    const ApiResponse response = api_->Handle({"GET", page, {}, kAdmin});
    if (response.http_status == 200) ++ok;
    if (response.http_status == 429) {
      ++limited;
      EXPECT_EQ(json::parse(response.body)["code"], "RESOURCE_EXHAUSTED") << response.body;
    }
  }
  EXPECT_GT(limited, 0) << ok << " pages answered, none limited";
  EXPECT_EQ(ok + limited, 100);
  EXPECT_LT(ok, 100);
  Call("GET", page, 200, kObserver);
  Call("GET", absl::StrCat("/api/campaigns/", campaign), 200);
}

}  // namespace
}  // namespace campaignq
