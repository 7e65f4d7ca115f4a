// db tier: every ListApplications and ListCampaigns page is served by an
// index and reads a bounded number of rows, however long the history: the
// plans of the statements the store runs (store::PlanApplicationList, the
// same prepared statements as every campaignq connection, in a transaction
// with the store's SessionCustomPlans), EXPLAIN ANALYZEd on 2,000,000
// applications after enough executions that the plan cache could have
// switched to a generic plan. Issue 19 defect 4: an applicant's list (its
// user id forced, no campaign) walked the primary key over the whole
// history; it now reads one page of applications_by_user (migration 0007).
//
// The history: 1,000 campaigns of 2,000 applications each, in campaign
// order (users u0..u1999 in every campaign, so each user has 1,000
// applications spread over the whole history); 70% approved, 20% rejected,
// 7% cancelled, 3% failed; a waitlist in the last 20 campaigns and pending
// rows in the last 10; and one applicant with three applications at the very
// end, after every other row.

#include <algorithm>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/db/connect.h"
#include "common/db/migrator.h"
#include "common/store/list_plan.h"
#include "gtest/gtest.h"
#include "statements.h"
#include "support/test_postgres.h"

namespace campaignq {
namespace {

using nlohmann::json;

constexpr int kPage = 50;
constexpr int kLimit = kPage + 1;  // the store reads one row more than a page
constexpr int64_t kRows = 2000000;
constexpr int64_t kMidToken = kRows / 2;  // "the next page" deep in the history
constexpr int kCampaignRows = 2000;
constexpr int kCampaignsWithWaitlist = 20;

// What one EXPLAIN ANALYZE says about the applications table.
struct Reads {
  int64_t rows = 0;                // rows the scans of applications produced or filtered out
  std::vector<std::string> scans;  // "Index Scan on applications_by_user", ...
  bool seq_scan = false;
};

void Collect(const json& node, Reads* reads) {
  const std::string type = node.value("Node Type", "");
  const int64_t loops = node.value("Actual Loops", int64_t{0});
  // A bitmap index scan names only its index: the entries it returns are
  // what its heap scan reads (a BitmapAnd with a status's partial index
  // reads all of that index), so the heap scan adds only its rechecks.
  const std::string index = node.value("Index Name", "");
  if (type == "Bitmap Index Scan" && index.rfind("applications", 0) == 0) {
    reads->rows += loops * node.value("Actual Rows", int64_t{0});
    reads->scans.push_back(absl::StrCat("Bitmap Index Scan ", index));
  }
  if (node.value("Relation Name", "") == "applications") {
    reads->rows += loops * node.value("Rows Removed by Index Recheck", int64_t{0});
    if (type != "Bitmap Heap Scan") {
      reads->rows += loops * (node.value("Actual Rows", int64_t{0}) +
                              node.value("Rows Removed by Filter", int64_t{0}));
    }
    if (type.find("Seq Scan") != std::string::npos) reads->seq_scan = true;
    reads->scans.push_back(absl::StrCat(type, " ", node.value("Index Name", ""), " x", loops));
  }
  if (node.contains("Plans")) {
    for (const json& child : node["Plans"]) Collect(child, reads);
  }
}

class ListPlansTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const absl::Time start = absl::Now();
    sql_ = db::Connect(testing::FreshDatabaseUrl("list_plans"), {})->release();
    if (!db::Migrate(*sql_, db::MigrateMode::kAuto).ok()) throw std::runtime_error("migrate");
    pqxx::nontransaction txn(*sql_);
    // The rows' foreign keys hold by construction; skipping their per-row
    // triggers halves the load time. applications_by_user is built after
    // the load, by migration 0007's own text (its IF NOT EXISTS path):
    // inserting into it row by row took the load from 15 s to 27 s, the
    // build takes 2 s (one run each, 2 cores). The table then is what
    // PostgreSQL plans for at that size: real rows, ANALYZEd, no faked
    // statistics.
    txn.exec("SET session_replication_role = replica");
    txn.exec("DROP INDEX applications_by_user");
    txn.exec("INSERT INTO campaigns (name) SELECT 'c' || g FROM generate_series(1, 1000) g");
    txn.exec(
        absl::StrCat("INSERT INTO applications (campaign_id, user_id, status, reason, decided_at) "
                     "SELECT c, u, s, CASE WHEN s = 'rejected' THEN 'campaign_full' END, "
                     "       CASE WHEN s <> 'pending' THEN now() END "
                     "FROM (SELECT g / ",
                     kCampaignRows, " + 1 AS c, 'u' || (g % ", kCampaignRows,
                     ") AS u, "
                     "             CASE WHEN g / ",
                     kCampaignRows, " >= 990 AND g % ", kCampaignRows,
                     " >= 1000 THEN 'pending' "
                     "                  WHEN g / ",
                     kCampaignRows, " >= ", 1000 - kCampaignsWithWaitlist,
                     " AND g % 10 = 0 THEN 'waitlisted' "
                     "                  WHEN g % 100 < 70 THEN 'approved' "
                     "                  WHEN g % 100 < 90 THEN 'rejected' "
                     "                  WHEN g % 100 < 97 THEN 'cancelled' "
                     "                  ELSE 'failed' END AS s "
                     "      FROM generate_series(0, ",
                     kRows - 1, ") g) x"));
    txn.exec(
        "INSERT INTO applications (campaign_id, user_id, status, reason, decided_at) VALUES "
        "(3, 'applicant', 'approved', NULL, now()), "
        "(500, 'applicant', 'rejected', 'campaign_full', now()), "
        "(995, 'applicant', 'pending', NULL, NULL)");
    txn.exec("RESET session_replication_role");
    const absl::Time index_start = absl::Now();
    for (const db::Migration& migration : db::EmbeddedMigrations()) {
      if (migration.name == "applications_by_user") txn.exec(migration.sql);
    }
    const absl::Duration index_time = absl::Now() - index_start;
    txn.exec("ANALYZE");
    std::printf("built %lld applications in %s (migration 0007's index: %s)\n",
                static_cast<long long>(kRows + 3),
                absl::FormatDuration(absl::Now() - start).c_str(),
                absl::FormatDuration(index_time).c_str());
  }

  static void TearDownTestSuite() {
    delete sql_;
    sql_ = nullptr;
  }

  static int64_t Count(const std::string& where) {
    pqxx::nontransaction txn(*sql_);
    return txn.exec(absl::StrCat("SELECT count(*) FROM applications WHERE ", where))[0][0]
        .as<int64_t>();
  }

  // Runs the store's statement for this request (which prepares it on this
  // connection, as on every campaignq connection; under kStore six times,
  // after which the plan cache may pick a generic plan), then EXPLAIN
  // ANALYZEs it.
  // kStore: in a transaction that ran SessionCustomPlans, as the store's
  // list transactions do; otherwise under that plan_cache_mode.
  static constexpr char kStore[] = "store";
  static Reads Explain(const store::ApplicationListPlan& plan, const std::string& plan_cache_mode) {
    pqxx::work txn(*sql_);
    if (plan_cache_mode == kStore) {
      txn.exec(sql::StatementText(sql::kSessionCustomPlans));
    } else {
      txn.exec(absl::StrCat("SET LOCAL plan_cache_mode = ", plan_cache_mode));
    }
    // A forced mode needs one execution (to prepare); a generic plan that
    // walks the history costs a second per execution here.
    for (int i = 0; i < (plan_cache_mode == kStore ? 6 : 1); ++i) {
      txn.exec_prepared(plan.statement.name, pqxx::prepare::make_dynamic_params(plan.args));
    }
    std::vector<std::string> quoted;
    for (const std::string& arg : plan.args) quoted.push_back(txn.quote(arg));
    const pqxx::result explained = txn.exec(
        absl::StrCat("EXPLAIN (ANALYZE, FORMAT JSON, COSTS OFF, TIMING OFF) EXECUTE ",
                     txn.quote_name(plan.statement.name), "(", absl::StrJoin(quoted, ", "), ")"));
    Reads reads;
    Collect(json::parse(explained[0][0].as<std::string>())[0]["Plan"], &reads);
    return reads;
  }

  // Fails unless, in each of `modes`, no scan of applications is
  // sequential and the scans read at most `bound` rows, on the first page
  // and on one deep in the history.
  static void ExpectBounded(int64_t campaign_id, const std::string& status,
                            const std::string& user_id, int64_t bound,
                            std::vector<std::string> modes = {kStore}) {
    for (const int64_t after : {int64_t{0}, kMidToken}) {
      const store::ApplicationListPlan plan =
          store::PlanApplicationList(campaign_id, status, user_id, after, kLimit);
      for (const std::string& mode : modes) {
        const Reads reads = Explain(plan, mode);
        const std::string what = absl::StrCat(
            plan.statement.name, " campaign=", campaign_id, " status='", status, "' user='",
            user_id, "' after=", after, " ", mode, ": ", absl::StrJoin(reads.scans, ", "));
        EXPECT_FALSE(reads.seq_scan) << what;
        EXPECT_LE(reads.rows, bound) << what;
        EXPECT_FALSE(reads.scans.empty()) << what;
      }
    }
  }

  static db::Connection* sql_;
};

db::Connection* ListPlansTest::sql_ = nullptr;

// The applicant's own list (authorization forces its user id, no campaign):
// one page of its rows, however many rows other users have before them. Its
// statement filters on user_id = $1 itself, so even a generic plan (which a
// connection that never ran SessionCustomPlans may cache) holds.
TEST_F(ListPlansTest, OneUsersApplicationsReadOnePageOfThatUsersRows) {
  ExpectBounded(0, "", "applicant", kLimit, {kStore, "force_generic_plan"});
  ExpectBounded(0, "", "u7", kLimit, {kStore, "force_generic_plan"});
}

// A status filter on top reads at most that user's rows (one per campaign
// applied to), never other users'.
TEST_F(ListPlansTest, OneUsersApplicationsOfOneStatusReadAtMostThatUsersRows) {
  for (const char* status : {"pending", "approved", "rejected", "waitlisted", "failed"}) {
    ExpectBounded(0, status, "applicant", Count("user_id = 'applicant'"));
    ExpectBounded(0, status, "u7", Count("user_id = 'u7'"));
  }
}

TEST_F(ListPlansTest, EveryCampaignsApplicationsReadOnePage) {
  // All statuses, and the statuses with a partial index on (id).
  for (const char* status : {"", "pending", "failed", "cancelled"}) {
    ExpectBounded(0, status, "", kLimit);
  }
  // Approved and rejected walk the primary key: a page reads about one
  // page over the status's share of the rows (70%, 20% here).
  ExpectBounded(0, "approved", "", 2 * kLimit);
  ExpectBounded(0, "rejected", "", 6 * kLimit);
}

// Up to a page of each waitlist, plus one probe per campaign that has one.
TEST_F(ListPlansTest, EveryCampaignsWaitlistReadsOnePagePerWaitlist) {
  ExpectBounded(0, "waitlisted", "", (kCampaignsWithWaitlist + 1) * (kLimit + 2));
}

// One campaign: a page of a status with a partial index; all statuses,
// approved and rejected read that campaign's rows only (no full index on
// (campaign_id, id): migration 0001); with a user id, its one row.
TEST_F(ListPlansTest, OneCampaignsApplicationsReadAtMostThatCampaignsRows) {
  for (const char* status : {"pending", "waitlisted", "failed", "cancelled"}) {
    ExpectBounded(995, status, "", kLimit);
  }
  for (const char* status : {"", "approved", "rejected"}) {
    ExpectBounded(500, status, "", Count("campaign_id = 500"));
  }
  ExpectBounded(500, "", "u7", 1);
  ExpectBounded(500, "", "applicant", 1);
}

// Why the store's list transactions run SessionCustomPlans: the generic
// plan of "($1 = '' OR status = $1)" cannot use the partial index of the
// status it is given, and walks the primary key from the token past every
// decided row to the pending ones at the end of the history.
TEST_F(ListPlansTest, WithoutCustomPlansPendingWouldWalkTheHistory) {
  const Reads reads =
      Explain(store::PlanApplicationList(0, "pending", "", 0, kLimit), "force_generic_plan");
  EXPECT_GT(reads.rows, 100 * kLimit) << absl::StrJoin(reads.scans, ", ");
}

TEST_F(ListPlansTest, CampaignsReadOnePage) {
  for (const int64_t after : {int64_t{0}, int64_t{500}}) {
    pqxx::nontransaction txn(*sql_);
    txn.exec_prepared(sql::kCampaignListAfter.name, after, kLimit);
    const pqxx::result explained = txn.exec(
        absl::StrCat("EXPLAIN (ANALYZE, FORMAT JSON, COSTS OFF, TIMING OFF) EXECUTE ",
                     txn.quote_name(sql::kCampaignListAfter.name), "(", after, ", ", kLimit, ")"));
    const json plan = json::parse(explained[0][0].as<std::string>())[0]["Plan"];
    EXPECT_EQ(plan.dump().find("Seq Scan"), std::string::npos) << plan.dump();
  }
}

}  // namespace
}  // namespace campaignq
