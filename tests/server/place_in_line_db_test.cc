// db tier: Application.position through ApplicationGetInLine and the
// service (docs/api.md "Place in line"):
//   - exact, checked against a plain count, for every pending and
//     waitlisted application of a campaign interleaved with two others,
//     after decisions, cancels and a failed application retried (it keeps
//     its id, so it is ahead of everyone pending);
//   - exact up to 10,000 ahead, flagged an estimate from 10,001, and the
//     estimate within the documented bound on stationary interleavings
//     (random, in bursts, with the head decided and random cancels); the
//     error of a drifting share is measured and printed, not bounded;
//   - the statement reads at most 10,001 entries of the partial index and
//     never the table's other rows (EXPLAIN ANALYZE);
//   - none before the campaign opens;
//   - through the server: GetApplication and WatchApplication carry it, and
//     the watch follows the decisions ahead at most about once a second.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "campaignq/v1/campaignq.grpc.pb.h"
#include "common/db/connect.h"
#include "common/db/migrator.h"
#include "common/db/pool.h"
#include "common/store/campaign_store.h"
#include "common/store/place_in_line.h"
#include "server/server_stack.h"
#include "statements.h"
#include "support/poll.h"
#include "support/test_postgres.h"

namespace campaignq::server {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// The documented bounds (docs/api.md "Place in line") on stationary
// interleavings: the estimate is within this share of the true position
// when arrivals of campaigns interleave one by one, and when they come in
// bursts of 50 of one campaign (the window then holds ~200 bursts, not
// 10,000 independent arrivals).
constexpr double kStationaryErrorBound = 0.03;
constexpr double kBurstsErrorBound = 0.15;

const std::string& DatabaseUrl() {
  static const std::string* url = new std::string(testing::FreshDatabaseUrl("place_in_line"));
  return *url;
}

class PlaceInLineDbTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto connection = db::Connect(DatabaseUrl(), {});
    ASSERT_TRUE(connection.ok()) << connection.status();
    ASSERT_TRUE(db::Migrate(**connection, db::MigrateMode::kAuto).ok());
    db::PoolOptions options;
    options.url = DatabaseUrl();
    options.max_connections = 4;
    pool_ = new db::ConnectionPool(options);
    store_ = new store::CampaignStore(pool_);
  }
  static void TearDownTestSuite() {
    delete store_;
    delete pool_;
  }

  static int64_t Create(const std::string& name) {
    v1::CreateCampaignRequest request;
    request.set_name(name);
    absl::StatusOr<v1::Campaign> campaign = store_->CreateCampaign(request);
    EXPECT_TRUE(campaign.ok()) << campaign.status();
    return campaign.ok() ? campaign->id() : 0;
  }

  static void Exec(const std::string& sql) {
    pqxx::connection connection(DatabaseUrl());
    pqxx::work txn(connection);
    txn.exec(sql);
    txn.commit();
  }

  static pqxx::result Query(const std::string& sql) {
    pqxx::connection connection(DatabaseUrl());
    pqxx::work txn(connection);
    pqxx::result rows = txn.exec(sql);
    txn.commit();
    return rows;
  }

  // `rows` applications; row i goes to the campaign `choose` (SQL over i)
  // picks among ids[0..].
  static void Insert(int rows, const std::vector<int64_t>& ids, const std::string& choose) {
    std::string cases = "CASE " + choose;
    for (size_t k = 0; k < ids.size(); ++k) absl::StrAppend(&cases, " WHEN ", k, " THEN ", ids[k]);
    absl::StrAppend(&cases, " END");
    static int batch = 0;  // user ids unique across batches
    Exec(absl::StrCat("INSERT INTO applications (campaign_id, user_id) SELECT ", cases, ", 'u",
                      ++batch, "-' || i FROM generate_series(1, ", rows, ") i ORDER BY i"));
  }

  // The truth: a plain count.
  static int64_t Ahead(int64_t campaign_id, const std::string& status, int64_t id) {
    return Query(absl::StrCat("SELECT count(*) FROM applications WHERE campaign_id = ", campaign_id,
                              " AND status = '", status, "' AND id < ", id))[0][0]
        .as<int64_t>();
  }

  static std::vector<int64_t> Ids(int64_t campaign_id, const std::string& status) {
    std::vector<int64_t> ids;
    for (const auto& row :
         Query(absl::StrCat("SELECT id FROM applications WHERE campaign_id = ", campaign_id,
                            " AND status = '", status, "' ORDER BY id"))) {
      ids.push_back(row[0].as<int64_t>());
    }
    return ids;
  }

  static store::ApplicationInLine Read(int64_t id) {
    absl::StatusOr<store::ApplicationInLine> read = store_->GetApplicationInLine(id);
    EXPECT_TRUE(read.ok()) << read.status();
    return read.ok() ? *std::move(read) : store::ApplicationInLine();
  }

  // The estimate's error at the tail of `campaign_id`'s pending line,
  // relative to the true position.
  static double TailError(int64_t campaign_id, const char* what) {
    const std::vector<int64_t> pending = Ids(campaign_id, "pending");
    EXPECT_GT(pending.size(), 2u * store::kExactPlaceLimit) << what;
    const int64_t tail = pending.back();
    const store::ApplicationInLine read = Read(tail);
    EXPECT_TRUE(read.place.has_value()) << what;
    if (!read.place.has_value()) return 1;
    EXPECT_TRUE(read.place->estimate) << what;
    const int64_t truth = static_cast<int64_t>(pending.size()) - 1;
    const double error = std::abs(static_cast<double>(read.place->ahead - truth)) / truth;
    std::printf("estimate error %-28s true %7lld estimated %7lld error %.2f%%\n", what,
                static_cast<long long>(truth), static_cast<long long>(read.place->ahead),
                100 * error);
    return error;
  }

  static db::ConnectionPool* pool_;
  static store::CampaignStore* store_;
};

db::ConnectionPool* PlaceInLineDbTest::pool_ = nullptr;
store::CampaignStore* PlaceInLineDbTest::store_ = nullptr;

TEST_F(PlaceInLineDbTest, ExactAmongOtherCampaignsAfterDecisionsCancelsAndARetry) {
  const int64_t a = Create("exact-a");
  const int64_t b = Create("exact-b");
  const int64_t c = Create("exact-c");
  Insert(3000, {a, b, c}, "abs(hashint4(i)) % 3");
  const std::string first_of_a =
      absl::StrCat("SELECT id FROM applications WHERE campaign_id = ", a, " ORDER BY id LIMIT ");
  // What workers would have done: the head decided, the next ones
  // waitlisted, one failed.
  Exec(absl::StrCat("UPDATE applications SET status = 'approved', decided_at = now() WHERE id IN (",
                    first_of_a, "200)"));
  Exec(absl::StrCat(
      "UPDATE applications SET status = 'waitlisted', decided_at = now() WHERE id IN (", first_of_a,
      "300) AND status = 'pending'"));
  const int64_t failed = Ids(a, "approved")[50];
  Exec(absl::StrCat("UPDATE applications SET status = 'failed', last_error = 'x' WHERE id = ",
                    failed));
  Exec(absl::StrCat("UPDATE campaigns SET approved_count = 199, failed_count = 1 WHERE id = ", a));
  // Cancels through the store: waitlisted and pending ones leave their lines.
  const std::vector<int64_t> waitlisted = Ids(a, "waitlisted");
  const std::vector<int64_t> pending = Ids(a, "pending");
  for (size_t i = 0; i < waitlisted.size(); i += 10) {
    ASSERT_TRUE(store_->CancelApplication(waitlisted[i]).ok());
  }
  for (size_t i = 3; i < pending.size(); i += 10) {
    ASSERT_TRUE(store_->CancelApplication(pending[i]).ok());
  }
  absl::StatusOr<v1::Application> retried = store_->RetryApplication(failed);
  ASSERT_TRUE(retried.ok()) << retried.status();

  int checked = 0;
  for (const char* status : {"pending", "waitlisted"}) {
    for (int64_t id : Ids(a, status)) {
      const store::ApplicationInLine read = Read(id);
      ASSERT_TRUE(read.place.has_value()) << status << " " << id;
      EXPECT_FALSE(read.place->estimate);
      EXPECT_EQ(read.place->ahead, Ahead(a, status, id)) << status << " " << id;
      ++checked;
    }
  }
  EXPECT_GT(checked, 600);
  // The retried one kept its id: first in the pending line.
  EXPECT_EQ(Read(failed).place->ahead, 0);
  const store::ApplicationInLine approved = Read(Ids(a, "approved").front());
  EXPECT_FALSE(approved.place.has_value());
  const store::ApplicationInLine cancelled = Read(pending[3]);
  EXPECT_EQ(cancelled.application.status(), v1::APPLICATION_STATUS_CANCELLED);
  EXPECT_FALSE(cancelled.place.has_value());
}

TEST_F(PlaceInLineDbTest, ExactToTenThousandThenAnEstimate) {
  const int64_t d = Create("limit-d");
  const int64_t e = Create("limit-e");
  Insert(24000, {d, e}, "abs(hashint4(i)) % 2");
  const std::vector<int64_t> pending = Ids(d, "pending");
  ASSERT_GT(pending.size(), 11000u);
  const store::ApplicationInLine at_limit = Read(pending[store::kExactPlaceLimit]);
  ASSERT_TRUE(at_limit.place.has_value());
  EXPECT_EQ(at_limit.place->ahead, store::kExactPlaceLimit);
  EXPECT_FALSE(at_limit.place->estimate);
  // One more: counted, but flagged; the window reaches the head, so nothing
  // is extrapolated.
  const store::ApplicationInLine beyond = Read(pending[store::kExactPlaceLimit + 1]);
  ASSERT_TRUE(beyond.place.has_value());
  EXPECT_EQ(beyond.place->ahead, store::kExactPlaceLimit + 1);
  EXPECT_TRUE(beyond.place->estimate);
  const store::ApplicationInLine tail = Read(pending.back());
  ASSERT_TRUE(tail.place.has_value());
  EXPECT_TRUE(tail.place->estimate);
  const double truth = static_cast<double>(pending.size() - 1);
  EXPECT_LE(std::abs(tail.place->ahead - truth) / truth, kStationaryErrorBound);
}

TEST_F(PlaceInLineDbTest, EstimateWithinTheBoundOnStationaryInterleavings) {
  // 90,000 rows: the campaign measured holds a third to a half of them, so
  // 30,000 to 45,000 are ahead of its tail, two thirds of them extrapolated.
  {
    const int64_t d = Create("uniform-d");
    Insert(90000, {d, Create("uniform-e"), Create("uniform-f")}, "abs(hashint4(i)) % 3");
    EXPECT_LE(TailError(d, "uniform, a third"), kStationaryErrorBound);
  }
  {
    // Arrivals in bursts of 50 of one campaign.
    const int64_t d = Create("bursts-d");
    Insert(90000, {d, Create("bursts-e")}, "abs(hashint4(i / 50)) % 2");
    EXPECT_LE(TailError(d, "bursts of 50, a half"), kBurstsErrorBound);
  }
  {
    // The head decided, and one in ten of the rest cancelled at random.
    const int64_t d = Create("decided-d");
    Insert(90000, {d, Create("decided-e")}, "abs(hashint4(i)) % 2");
    Exec(
        absl::StrCat("UPDATE applications SET status = 'approved', decided_at = now() WHERE id IN "
                     "(SELECT id FROM applications WHERE campaign_id = ",
                     d, " ORDER BY id LIMIT 5000)"));
    Exec(absl::StrCat(
        "UPDATE applications SET status = 'cancelled', decided_at = now() WHERE campaign_id = ", d,
        " AND status = 'pending' AND abs(hashint4(id::int + 7)) % 10 = 0"));
    EXPECT_LE(TailError(d, "head decided, 10% cancelled"), kStationaryErrorBound);
  }
  {
    // Not stationary: the campaign's share grows from 20% to 80% along
    // its line. The window sees 80%, so the head's part is overestimated:
    // what docs/api.md says the estimate cannot bound.
    const int64_t d = Create("drift-d");
    Insert(90000, {d, Create("drift-e")},
           "(abs(hashint4(i)) % 1000 >= 200 + 600 * i / 90000)::int");
    const double error = TailError(d, "share drifting 20% to 80%");
    EXPECT_GT(error, kStationaryErrorBound);
  }
}

TEST_F(PlaceInLineDbTest, ReadsAtMostTheWindowOfThePartialIndex) {
  const int64_t d = Create("plan-d");
  Insert(30000, {d, Create("plan-e")}, "abs(hashint4(i)) % 2");
  {
    // Index-only reads need the visibility map (autovacuum sets it).
    pqxx::connection connection(DatabaseUrl());
    pqxx::nontransaction vacuum(connection);
    vacuum.exec("VACUUM (ANALYZE) applications");
  }
  const int64_t tail = Ids(d, "pending").back();
  pqxx::connection connection(DatabaseUrl());
  pqxx::work txn(connection);
  connection.prepare("in_line", sql::StatementText(sql::kApplicationGetInLine));
  // Past the five custom plans: the generic plan is the one that stays.
  // As the store runs it (SessionOrderedIndexScans first).
  txn.exec(sql::StatementText(sql::kSessionOrderedIndexScans));
  for (int i = 0; i < 8; ++i) txn.exec_prepared("in_line", tail);
  const std::string plan =
      txn.exec(absl::StrCat("EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE in_line(", tail, ")"))[0][0]
          .as<std::string>();
  txn.commit();
  int64_t index_rows = 0;
  bool other_scan = false;
  std::function<void(const nlohmann::json&)> walk = [&](const nlohmann::json& node) {
    const std::string type = node.value("Node Type", "");
    const std::string index = node.value("Index Name", "");
    if (node.value("Relation Name", "") == "applications") {
      const int64_t rows = node.value("Actual Loops", int64_t{0}) *
                           (node.value("Actual Rows", int64_t{0}) +
                            node.value("Rows Removed by Filter", int64_t{0}));
      if (index == "applications_pending_by_campaign" && type == "Index Only Scan") {
        index_rows += rows;
      } else if (index != "applications_pkey" && rows > 0) {
        other_scan = true;
      }
    }
    if (node.contains("Plans")) {
      for (const auto& child : node["Plans"]) walk(child);
    }
  };
  walk(nlohmann::json::parse(plan)[0]["Plan"]);
  EXPECT_FALSE(other_scan) << plan;
  EXPECT_GE(index_rows, store::kExactPlaceLimit + 1) << plan;
  EXPECT_LE(index_rows, store::kExactPlaceLimit + 2) << plan;  // the window and the head
}

TEST_F(PlaceInLineDbTest, NoPlaceBeforeTheCampaignOpens) {
  const int64_t early = Create("not-yet-open");
  Insert(5, {early}, "0");
  Exec(
      absl::StrCat("UPDATE campaigns SET opens_at = now() + interval '1 hour' WHERE id = ", early));
  const store::ApplicationInLine read = Read(Ids(early, "pending").back());
  EXPECT_EQ(read.application.status(), v1::APPLICATION_STATUS_PENDING);
  EXPECT_FALSE(read.place.has_value());
  Exec(absl::StrCat("UPDATE campaigns SET opens_at = now() - interval '1 second' WHERE id = ",
                    early));
  const store::ApplicationInLine opened = Read(Ids(early, "pending").back());
  ASSERT_TRUE(opened.place.has_value());
  EXPECT_EQ(opened.place->ahead, 4);
}

ServerOptions TestServerOptions() {
  ServerOptions options;
  options.process.database_url = DatabaseUrl();
  options.listen = "127.0.0.1:0";
  options.pool_size = 4;
  options.shutdown_grace = absl::Seconds(5);
  return options;
}

std::unique_ptr<grpc::ClientContext> Context(std::chrono::milliseconds timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + timeout);
  return context;
}

TEST_F(PlaceInLineDbTest, GetAndWatchCarryThePlaceAndTheWatchFollowsTheDecisions) {
  ServerStack stack(TestServerOptions());
  absl::StatusOr<int> port = stack.Start();
  ASSERT_TRUE(port.ok()) << port.status();
  auto channel = stack.grpc_server()->InProcessChannel(grpc::ChannelArguments());
  auto stub = v1::CampaignQueue::NewStub(channel);

  const int64_t campaign = Create("served");
  Insert(40, {campaign, Create("served-other")}, "i % 2");
  const std::vector<int64_t> pending = Ids(campaign, "pending");
  const int64_t last = pending.back();
  const int64_t ahead = static_cast<int64_t>(pending.size()) - 1;

  v1::GetApplicationRequest get;
  get.set_application_id(last);
  v1::Application got;
  ASSERT_TRUE(stub->GetApplication(Context(seconds(10)).get(), get, &got).ok());
  ASSERT_TRUE(got.has_position());
  EXPECT_EQ(got.position(), ahead);
  EXPECT_FALSE(got.position_is_estimate());
  EXPECT_FALSE(got.has_estimated_wait());  // no progress measured yet

  v1::WatchApplicationRequest watch;
  watch.set_application_id(last);
  auto watch_context = Context(seconds(60));
  auto reader = stub->WatchApplication(watch_context.get(), watch);
  v1::Application message;
  ASSERT_TRUE(reader->Read(&message));
  EXPECT_EQ(message.position(), ahead);

  // What a worker does, one decision at a time: change the row, NOTIFY.
  const auto started = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < ahead; ++i) {
    Exec(absl::StrCat(
        "UPDATE applications SET status = 'approved', decided_at = now() WHERE id = ", pending[i],
        "; UPDATE campaigns SET approved_count = approved_count + 1 ", "WHERE id = ", campaign,
        "; SELECT pg_notify('campaignq_decided', '", campaign, "')"));
  }
  int messages = 0;
  while (message.position() != 0 && reader->Read(&message)) {
    ++messages;
    ASSERT_TRUE(message.has_position());
  }
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_EQ(message.position(), 0);
  // At most one place update a second (and the one the first decision may
  // have caught at once).
  EXPECT_LE(messages, static_cast<int>(elapsed) + 2) << elapsed << " s";
  std::printf("watch: %d messages in %.2f s for %lld decisions ahead\n", messages, elapsed,
              static_cast<long long>(ahead));
  watch_context->TryCancel();

  // Progress now measured between two reads a second or more apart: a Get
  // carries an estimate once the campaign has moved in between.
  Insert(2, {campaign}, "0");
  const std::vector<int64_t> fresh = Ids(campaign, "pending");
  get.set_application_id(fresh.back());
  ASSERT_TRUE(stub->GetApplication(Context(seconds(10)).get(), get, &got).ok());
  ASSERT_TRUE(testing::PollUntil(
      [&] {
        Exec(absl::StrCat("UPDATE campaigns SET approved_count = approved_count + 1 WHERE id = ",
                          campaign));
        v1::Application again;
        return stub->GetApplication(Context(seconds(10)).get(), get, &again).ok() &&
               again.has_estimated_wait();
      },
      testing::Deadline(seconds(10)), milliseconds(200)));
}

}  // namespace
}  // namespace campaignq::server
