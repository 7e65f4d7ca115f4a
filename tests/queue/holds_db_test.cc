// db tier: timed holds (migration 0008, docs/holds.md) in the worker's batch
// decision and in the seats a cancel gives back: with a hold duration a seat
// goes out held, never approved; held and approved together stay within the
// cap; those beyond it wait while a seat may come back.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/db/connect.h"
#include "common/db/migrator.h"
#include "common/db/pool.h"
#include "common/queue/claim.h"
#include "common/store/campaign_store.h"
#include "common/verify/checks.h"
#include "gtest/gtest.h"
#include "support/test_postgres.h"

namespace campaignq {
namespace {

class HoldsDbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    url_ = testing::FreshDatabaseUrl(info->name());
    auto connection = db::Connect(url_, {});
    ASSERT_TRUE(connection.ok()) << connection.status();
    sql_ = *std::move(connection);
    ASSERT_TRUE(db::Migrate(*sql_, db::MigrateMode::kAuto).ok());
  }

  // A campaign with `cap` seats held for `hold_ms` (nullopt: final
  // approvals) and `applicants` pending applications u1..uN in id order.
  int64_t Campaign(int cap, std::optional<int64_t> hold_ms, bool waitlist, int applicants,
                   std::optional<int> max_active_holds = std::nullopt) {
    pqxx::work txn(*sql_);
    const int64_t id =
        txn.exec_params1(
               "INSERT INTO campaigns (name, max_participants, waitlist, hold_duration_ms, "
               "max_active_holds) VALUES ('c', $1, $2, $3, $4) RETURNING id",
               cap, waitlist, hold_ms, max_active_holds)[0]
            .as<int64_t>();
    txn.exec_params(
        "INSERT INTO applications (campaign_id, user_id) "
        "SELECT $1, 'u' || g FROM generate_series(1, $2) g ORDER BY g",
        id, applicants);
    txn.commit();
    return id;
  }

  // user id -> status, in one campaign.
  std::map<std::string, std::string> Statuses(int64_t campaign) {
    pqxx::work txn(*sql_);
    std::map<std::string, std::string> out;
    for (const auto& row : txn.exec_params(
             "SELECT user_id, status FROM applications WHERE campaign_id = $1", campaign)) {
      out[row[0].as<std::string>()] = row[1].as<std::string>();
    }
    txn.commit();
    return out;
  }

  // approved_count, held_count.
  std::pair<int, int> Counters(int64_t campaign) {
    pqxx::work txn(*sql_);
    const pqxx::row row = txn.exec_params1(
        "SELECT approved_count, held_count FROM campaigns WHERE id = $1", campaign);
    txn.commit();
    return {row[0].as<int>(), row[1].as<int>()};
  }

  store::CampaignStore& Store() {
    if (!store_) {
      db::PoolOptions options;
      options.url = url_;
      options.max_connections = 2;
      pool_ = std::make_unique<db::ConnectionPool>(options);
      store_ = std::make_unique<store::CampaignStore>(pool_.get());
    }
    return *store_;
  }

  int64_t IdOf(int64_t campaign, const std::string& user) {
    pqxx::work txn(*sql_);
    const int64_t id =
        txn.exec_params1("SELECT id FROM applications WHERE campaign_id = $1 AND user_id = $2",
                         campaign, user)[0]
            .as<int64_t>();
    txn.commit();
    return id;
  }

  // The holds of `users` in `campaign` due now, by the database's clock.
  void MakeDue(int64_t campaign, const std::vector<std::string>& users) {
    pqxx::work txn(*sql_);
    for (const std::string& user : users) {
      txn.exec_params(
          "UPDATE applications SET hold_expires_at = clock_timestamp() - interval '1 ms' "
          "WHERE campaign_id = $1 AND user_id = $2 AND status = 'held'",
          campaign, user);
    }
    txn.commit();
  }

  // The counters agree with the rows, within the cap, each hold expired at
  // most once and every change one the service makes (CheckTransitions).
  void ExpectCountersAndTransitionsHold(const std::vector<int64_t>& campaigns) {
    pqxx::work txn(*sql_);
    std::string ids = "{";
    for (size_t i = 0; i < campaigns.size(); ++i)
      ids += (i ? "," : "") + std::to_string(campaigns[i]);
    ids += "}";
    EXPECT_EQ(txn.exec_params1(
                     "SELECT count(*) FROM campaigns c WHERE id = ANY ($1::bigint[]) AND ("
                     " c.approved_count + c.held_count > c.max_participants"
                     " OR c.held_count <> (SELECT count(*) FROM applications a"
                     "                     WHERE a.campaign_id = c.id AND a.status = 'held')"
                     " OR c.expired_count <> (SELECT count(*) FROM applications a"
                     "                     WHERE a.campaign_id = c.id AND a.status = 'expired'))",
                     ids)[0]
                  .as<int>(),
              0);
    EXPECT_EQ(txn.exec_params1("SELECT count(*) FROM (SELECT d.application_id"
                               " FROM campaignq_check_audit d JOIN applications a"
                               "   ON a.id = d.application_id"
                               " WHERE a.campaign_id = ANY ($1::bigint[])"
                               "   AND d.new_status = 'expired'"
                               " GROUP BY 1 HAVING count(*) > 1) twice",
                               ids)[0]
                  .as<int>(),
              0);
    // What these tests do: decisions, promotions, expiries; any other
    // change (a hold of a waitlisted row turned back, an expired one held
    // again) would be a defect.
    EXPECT_EQ(txn.exec_params1("SELECT count(*) FROM campaignq_check_audit d"
                               " JOIN applications a ON a.id = d.application_id"
                               " WHERE a.campaign_id = ANY ($1::bigint[])"
                               "   AND (d.old_status, d.new_status) NOT IN ("
                               "     ('pending', 'held'), ('pending', 'waitlisted'),"
                               "     ('waitlisted', 'held'), ('held', 'expired'))",
                               ids)[0]
                  .as<int>(),
              0);
    txn.commit();
  }

  void Decide(int64_t campaign) {
    queue::ClaimProtocol claim(sql_.get());
    const queue::BatchResult result = claim.DecideCampaign(campaign, 100);
    ASSERT_TRUE(result.status.ok()) << result.status;
  }

  std::string url_;
  std::unique_ptr<db::Connection> sql_;
  std::unique_ptr<db::ConnectionPool> pool_;
  std::unique_ptr<store::CampaignStore> store_;
};

TEST_F(HoldsDbTest, AHoldDurationOffersSeatsAsHoldsThatRunFromTheDecision) {
  const int64_t campaign = Campaign(2, 60'000, true, 3);
  Decide(campaign);
  EXPECT_EQ(Statuses(campaign), (std::map<std::string, std::string>{
                                    {"u1", "held"}, {"u2", "held"}, {"u3", "waitlisted"}}));
  EXPECT_EQ(Counters(campaign), std::make_pair(0, 2));
  pqxx::work txn(*sql_);
  // Each hold expires its duration after its decision, and only holds do.
  const pqxx::row row = txn.exec_params1(
      "SELECT count(*) FILTER (WHERE hold_expires_at = decided_at + interval '60 s'), "
      "       count(hold_expires_at) "
      "FROM applications WHERE campaign_id = $1",
      campaign);
  EXPECT_EQ(row[0].as<int>(), 2);
  EXPECT_EQ(row[1].as<int>(), 2);
  txn.commit();
}

TEST_F(HoldsDbTest, WithoutAWaitlistThoseBeyondTheCapWaitWhileASeatIsOnlyHeld) {
  const int64_t campaign = Campaign(1, 60'000, false, 3);
  Decide(campaign);
  EXPECT_EQ(Statuses(campaign), (std::map<std::string, std::string>{
                                    {"u1", "held"}, {"u2", "waitlisted"}, {"u3", "waitlisted"}}));
}

TEST_F(HoldsDbTest, OnceEverySeatIsApprovedThoseBeyondAreRejectedFullWithoutAWaitlist) {
  const int64_t campaign = Campaign(1, 60'000, false, 1);
  Decide(campaign);
  {
    // The confirmation, as ConfirmApplication will make it.
    pqxx::work txn(*sql_);
    txn.exec_params(
        "UPDATE applications SET status = 'approved', hold_expires_at = NULL "
        "WHERE campaign_id = $1",
        campaign);
    txn.exec_params("UPDATE campaigns SET approved_count = 1, held_count = 0 WHERE id = $1",
                    campaign);
    txn.exec_params("INSERT INTO applications (campaign_id, user_id) VALUES ($1, 'late')",
                    campaign);
    txn.commit();
  }
  Decide(campaign);
  pqxx::work txn(*sql_);
  const pqxx::row late = txn.exec_params1(
      "SELECT status, reason FROM applications WHERE campaign_id = $1 AND user_id = 'late'",
      campaign);
  EXPECT_EQ(late[0].as<std::string>(), "rejected");
  EXPECT_EQ(late[1].as<std::string>(), "campaign_full");
  txn.commit();
}

TEST_F(HoldsDbTest, MaxActiveHoldsBoundsTheHoldsOutstandingAndTheRestWait) {
  const int64_t campaign = Campaign(5, 60'000, true, 4, 2);
  Decide(campaign);
  EXPECT_EQ(Statuses(campaign),
            (std::map<std::string, std::string>{
                {"u1", "held"}, {"u2", "held"}, {"u3", "waitlisted"}, {"u4", "waitlisted"}}));
  EXPECT_EQ(Counters(campaign), std::make_pair(0, 2));
}

// A confirm keeps its seat but ends a hold: under max_active_holds that
// makes room for the next hold, offered in the same transaction (found by
// e2e_storm_hold_test: a campaign left with a free seat and 33 waiting).
TEST_F(HoldsDbTest, AConfirmUnderMaxActiveHoldsOffersTheNextInLineAHold) {
  const int64_t campaign = Campaign(3, 60'000, true, 4, 1);
  Decide(campaign);
  ASSERT_EQ(Statuses(campaign),
            (std::map<std::string, std::string>{
                {"u1", "held"}, {"u2", "waitlisted"}, {"u3", "waitlisted"}, {"u4", "waitlisted"}}));
  ASSERT_TRUE(Store().ConfirmApplication(IdOf(campaign, "u1")).ok());
  EXPECT_EQ(Statuses(campaign),
            (std::map<std::string, std::string>{
                {"u1", "approved"}, {"u2", "held"}, {"u3", "waitlisted"}, {"u4", "waitlisted"}}));
  EXPECT_EQ(Counters(campaign), std::make_pair(1, 1));
}

TEST_F(HoldsDbTest, ACancelledHoldPassesItsSeatToTheNextInLineAsAHold) {
  const int64_t campaign = Campaign(1, 60'000, false, 3);
  Decide(campaign);
  const absl::StatusOr<v1::Application> cancelled = Store().CancelApplication(IdOf(campaign, "u1"));
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_EQ(Statuses(campaign), (std::map<std::string, std::string>{
                                    {"u1", "cancelled"}, {"u2", "held"}, {"u3", "waitlisted"}}));
  EXPECT_EQ(Counters(campaign), std::make_pair(0, 1));
}

TEST_F(HoldsDbTest, ClosingRejectsWhoeverWaitsAndLeavesTheHoldsOutstanding) {
  const int64_t campaign = Campaign(1, 60'000, true, 2);
  Decide(campaign);
  ASSERT_TRUE(Store().CloseCampaign(campaign).ok());
  EXPECT_EQ(Statuses(campaign),
            (std::map<std::string, std::string>{{"u1", "held"}, {"u2", "rejected"}}));
  EXPECT_EQ(Counters(campaign), std::make_pair(0, 1));
}

TEST_F(HoldsDbTest, AConfirmedHoldIsApprovedAndKeepsItsSeat) {
  const int64_t campaign = Campaign(2, 60'000, true, 3);
  Decide(campaign);
  const absl::StatusOr<v1::Application> confirmed =
      Store().ConfirmApplication(IdOf(campaign, "u1"));
  ASSERT_TRUE(confirmed.ok()) << confirmed.status();
  EXPECT_EQ(confirmed->status(), v1::APPLICATION_STATUS_APPROVED);
  EXPECT_EQ(Counters(campaign), std::make_pair(1, 1));
  // Again: the same answer, nothing moves.
  EXPECT_EQ(Store().ConfirmApplication(IdOf(campaign, "u1"))->status(),
            v1::APPLICATION_STATUS_APPROVED);
  EXPECT_EQ(Counters(campaign), std::make_pair(1, 1));
  const absl::StatusOr<v1::Application> waiting = Store().ConfirmApplication(IdOf(campaign, "u3"));
  EXPECT_EQ(waiting.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(waiting.status().message(),
            absl::StrCat("application ", IdOf(campaign, "u3"),
                         " is waitlisted; only a held application can be confirmed"));
}

TEST_F(HoldsDbTest, AConfirmAfterTheExpiryFailsEvenBeforeAWorkerExpiresTheHold) {
  const int64_t campaign = Campaign(1, 60'000, true, 1);
  Decide(campaign);
  {
    pqxx::work txn(*sql_);
    txn.exec_params(
        "UPDATE applications SET hold_expires_at = clock_timestamp() - interval '1 ms' "
        "WHERE campaign_id = $1",
        campaign);
    txn.commit();
  }
  const int64_t u1 = IdOf(campaign, "u1");
  const absl::StatusOr<v1::Application> late = Store().ConfirmApplication(u1);
  EXPECT_EQ(late.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(late.status().message(), absl::StrCat("the hold of application ", u1, " has expired"));
  EXPECT_EQ(Statuses(campaign).at("u1"), "held");
  EXPECT_EQ(Counters(campaign), std::make_pair(0, 1));
}

TEST_F(HoldsDbTest, AReleasedHoldPassesItsSeatToTheNextInLine) {
  const int64_t campaign = Campaign(1, 60'000, false, 3);
  Decide(campaign);
  const absl::StatusOr<v1::Application> released = Store().ReleaseApplication(IdOf(campaign, "u1"));
  ASSERT_TRUE(released.ok()) << released.status();
  EXPECT_EQ(released->status(), v1::APPLICATION_STATUS_RELEASED);
  EXPECT_EQ(Statuses(campaign), (std::map<std::string, std::string>{
                                    {"u1", "released"}, {"u2", "held"}, {"u3", "waitlisted"}}));
  EXPECT_EQ(Counters(campaign), std::make_pair(0, 1));
  pqxx::work txn(*sql_);
  EXPECT_EQ(
      txn.exec_params1("SELECT released_count FROM campaigns WHERE id = $1", campaign)[0].as<int>(),
      1);
  txn.commit();
}

TEST_F(HoldsDbTest, ConfirmingTheLastSeatWithoutAWaitlistRejectsThoseWhoWaited) {
  const int64_t campaign = Campaign(1, 60'000, false, 2);
  Decide(campaign);
  ASSERT_TRUE(Store().ConfirmApplication(IdOf(campaign, "u1")).ok());
  EXPECT_EQ(Statuses(campaign),
            (std::map<std::string, std::string>{{"u1", "approved"}, {"u2", "rejected"}}));
}

// A worker's batch holds the campaign lock while it decides; a confirm
// waits for it briefly (SessionUserLockTimeout), then tells its caller to
// retry, in words, without the database's text.
TEST_F(HoldsDbTest, AConfirmBehindALongBatchFailsFastWithARetry) {
  const int64_t campaign = Campaign(1, 60'000, true, 1);
  Decide(campaign);
  const int64_t u1 = IdOf(campaign, "u1");
  auto holder = db::Connect(url_, {});
  ASSERT_TRUE(holder.ok()) << holder.status();
  pqxx::work batch(**holder);
  batch.exec_params("SELECT id FROM campaigns WHERE id = $1 FOR NO KEY UPDATE", campaign);
  const absl::StatusOr<v1::Application> busy = Store().ConfirmApplication(u1);
  EXPECT_EQ(busy.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(busy.status().message(),
            absl::StrCat("application ", u1, "'s campaign is busy deciding; retry shortly"));
  batch.abort();
  EXPECT_TRUE(Store().ConfirmApplication(u1).ok());
}

TEST_F(HoldsDbTest, TheSchemaRefusesAHoldWithoutACapAndMoreOfferedThanSeats) {
  pqxx::work txn(*sql_);
  EXPECT_THROW(txn.exec("INSERT INTO campaigns (name, hold_duration_ms) VALUES ('c', 1000)"),
               pqxx::check_violation);
  txn.abort();
  const int64_t campaign = Campaign(1, 60'000, true, 1);
  Decide(campaign);
  pqxx::work over(*sql_);
  EXPECT_THROW(over.exec_params("UPDATE campaigns SET approved_count = 1 WHERE id = $1", campaign),
               pqxx::check_violation);
}

TEST_F(HoldsDbTest, WithoutAHoldDurationSeatsAreStillApprovedFinally) {
  const int64_t campaign = Campaign(1, std::nullopt, false, 2);
  Decide(campaign);
  EXPECT_EQ(Statuses(campaign),
            (std::map<std::string, std::string>{{"u1", "approved"}, {"u2", "rejected"}}));
  EXPECT_EQ(Counters(campaign), std::make_pair(1, 0));
}

// The expiry queue (ClaimProtocol::ExpireDueHolds): only holds due by the
// database's clock end, each seat goes to the first waitlisted in line as a
// hold, and the next expiry is reported for the worker to sleep until.
TEST_F(HoldsDbTest, TheExpiryEndsOnlyDueHoldsAndPassesEachSeatToTheFirstInLine) {
  ASSERT_TRUE(verify::InstallDecisionAudit(url_).ok());
  const int64_t campaign = Campaign(3, 60'000, true, 6);
  const int64_t other = Campaign(1, 60'000, true, 1);
  Decide(campaign);
  Decide(other);
  MakeDue(campaign, {"u1", "u3"});
  queue::ClaimProtocol protocol(sql_.get());
  const queue::BatchResult result = protocol.ExpireDueHolds(100);
  ASSERT_TRUE(result.status.ok()) << result.status;
  ASSERT_EQ(result.expired.size(), 2u);
  EXPECT_EQ(result.expired[0].application_id, IdOf(campaign, "u1"));
  EXPECT_EQ(result.expired[1].application_id, IdOf(campaign, "u3"));
  EXPECT_GE(result.expired[0].late_micros, 0);
  EXPECT_EQ(result.campaign_ids, std::vector<int64_t>{campaign});
  EXPECT_EQ(result.seats_passed_on,
            (std::vector<int64_t>{IdOf(campaign, "u4"), IdOf(campaign, "u5")}));
  ASSERT_TRUE(result.next_expiry_micros.has_value());
  EXPECT_GT(*result.next_expiry_micros, 0);
  EXPECT_LE(*result.next_expiry_micros, 60'000'000);
  EXPECT_EQ(Statuses(campaign), (std::map<std::string, std::string>{{"u1", "expired"},
                                                                    {"u2", "held"},
                                                                    {"u3", "expired"},
                                                                    {"u4", "held"},
                                                                    {"u5", "held"},
                                                                    {"u6", "waitlisted"}}));
  EXPECT_EQ(Counters(campaign), std::make_pair(0, 3));
  EXPECT_EQ(Statuses(other).at("u1"), "held");
  // Nothing more is due: nothing moves.
  const queue::BatchResult again = protocol.ExpireDueHolds(100);
  ASSERT_TRUE(again.status.ok()) << again.status;
  EXPECT_TRUE(again.expired.empty());
  EXPECT_EQ(Counters(campaign), std::make_pair(0, 3));
  ExpectCountersAndTransitionsHold({campaign, other});
}

// Two sessions at once, and one that holds a campaign: SKIP LOCKED passes
// over the held campaign without waiting, and every due hold is expired
// exactly once, its seat passed on once.
TEST_F(HoldsDbTest, ConcurrentExpiriesSkipHeldCampaignsAndExpireEachDueHoldOnce) {
  ASSERT_TRUE(verify::InstallDecisionAudit(url_).ok());
  std::vector<int64_t> campaigns;
  for (int i = 0; i < 8; ++i) {
    campaigns.push_back(Campaign(2, 60'000, true, 3));
    Decide(campaigns.back());
    MakeDue(campaigns.back(), {"u1", "u2"});
  }
  {
    // A waiter would fail here instead of hanging the test.
    pqxx::nontransaction session(*sql_);
    session.exec("SET lock_timeout = '5s'");
  }
  auto holder = db::Connect(url_, {});
  ASSERT_TRUE(holder.ok()) << holder.status();
  auto batch = std::make_unique<pqxx::work>(**holder);
  batch->exec_params("SELECT id FROM campaigns WHERE id = $1 FOR NO KEY UPDATE", campaigns[0]);
  queue::ClaimProtocol protocol(sql_.get());
  const queue::BatchResult skipped = protocol.ExpireDueHolds(100);
  ASSERT_TRUE(skipped.status.ok()) << skipped.status;
  EXPECT_EQ(skipped.expired.size(), 14u);
  EXPECT_EQ(skipped.campaign_ids, std::vector<int64_t>(campaigns.begin() + 1, campaigns.end()));
  ASSERT_TRUE(skipped.next_expiry_micros.has_value());
  EXPECT_LE(*skipped.next_expiry_micros, 0);  // campaign 0's, held
  batch->abort();
  batch.reset();
  // Every hold outstanding due now, for two sessions in parallel, a hold or two
  // per batch, so that they meet on the same campaigns.
  for (int64_t campaign : campaigns) MakeDue(campaign, {"u1", "u2", "u3"});
  std::vector<std::vector<int64_t>> expired(2);
  std::vector<std::thread> sessions;
  for (int i = 0; i < 2; ++i) {
    sessions.emplace_back([&, i] {
      auto connection = db::Connect(url_, {});
      ASSERT_TRUE(connection.ok()) << connection.status();
      queue::ClaimProtocol mine(connection->get());
      while (true) {
        const queue::BatchResult result = mine.ExpireDueHolds(1 + i);
        ASSERT_TRUE(result.status.ok()) << result.status;
        for (const queue::Expiry& expiry : result.expired) {
          expired[i].push_back(expiry.application_id);
        }
        // Done when nothing is due, none held by the other session either.
        if (!result.next_expiry_micros.has_value() || *result.next_expiry_micros > 0) break;
      }
    });
  }
  for (std::thread& session : sessions) session.join();
  std::set<int64_t> once;
  for (const auto& ids : expired) {
    for (int64_t id : ids) EXPECT_TRUE(once.insert(id).second) << "expired twice: " << id;
  }
  // Campaign 0's two (its u3 then holds the seat passed on, not due), and
  // the u3 of each other campaign.
  EXPECT_EQ(once.size(), 9u);
  EXPECT_EQ(Statuses(campaigns[0]), (std::map<std::string, std::string>{
                                        {"u1", "expired"}, {"u2", "expired"}, {"u3", "held"}}));
  EXPECT_EQ(Counters(campaigns[0]), std::make_pair(0, 1));
  for (size_t i = 1; i < campaigns.size(); ++i) {
    EXPECT_EQ(Statuses(campaigns[i]), (std::map<std::string, std::string>{
                                          {"u1", "expired"}, {"u2", "expired"}, {"u3", "expired"}}))
        << "campaign " << campaigns[i];
    EXPECT_EQ(Counters(campaigns[i]), std::make_pair(0, 0));
  }
  ExpectCountersAndTransitionsHold(campaigns);
}

}  // namespace
}  // namespace campaignq
