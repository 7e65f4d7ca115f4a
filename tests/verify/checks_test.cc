// The kit's checks against real PostgreSQL: a correct outcome passes, and
// each broken invariant, planted by hand with plain SQL (the way a buggy
// service would leave the tables), is reported by its own count.

#include "common/verify/checks.h"

#include <chrono>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "common/db/connect.h"
#include "common/db/migrator.h"
#include "common/verify/sampler.h"
#include "gtest/gtest.h"
#include "support/test_postgres.h"

namespace campaignq::verify {
namespace {

class ChecksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ =
        testing::FreshDatabaseUrl(::testing::UnitTest::GetInstance()->current_test_info()->name());
    auto connection = db::Connect(url_, {});
    ASSERT_TRUE(connection.ok()) << connection.status();
    ASSERT_TRUE(db::Migrate(**connection, db::MigrateMode::kAuto).ok());
  }

  // Runs `sql` in its own transaction (so that each gets its own clock).
  void Exec(const std::string& sql) {
    pqxx::connection connection(url_);
    pqxx::work txn(connection);
    txn.exec(sql);
    txn.commit();
  }

  int64_t Campaign(int cap, bool waitlist) {
    pqxx::connection connection(url_);
    pqxx::work txn(connection);
    const int64_t id = txn.exec_params(
                              "INSERT INTO campaigns (name, max_participants, waitlist) "
                              "VALUES ('c', $1, $2) RETURNING id",
                              cap, waitlist)[0][0]
                           .as<int64_t>();
    txn.commit();
    return id;
  }

  // Stores `user`'s application and returns a record of an Apply sent at
  // `send_ms` and acknowledged at send_ms + 1 (client clock).
  ApplyRecord Apply(int64_t campaign, const std::string& user, int send_ms) {
    pqxx::connection connection(url_);
    pqxx::work txn(connection);
    ApplyRecord r;
    r.campaign_id = campaign;
    r.user_id = user;
    r.application_id = txn.exec_params(
                              "INSERT INTO applications (campaign_id, user_id) "
                              "VALUES ($1, $2) RETURNING id",
                              campaign, user)[0][0]
                           .as<int64_t>();
    txn.commit();
    r.acknowledged = true;
    r.attempts = 1;
    r.first_send = SteadyTime(std::chrono::milliseconds(send_ms));
    r.reply = SteadyTime(std::chrono::milliseconds(send_ms + 1));
    return r;
  }

  // Decides like the worker: status, reason, decided_at, and the counter.
  void Decide(const ApplyRecord& r, const std::string& status, const std::string& reason = "") {
    Exec("UPDATE applications SET status = '" + status +
         "', reason = " + (reason.empty() ? "NULL" : "'" + reason + "'") +
         ", decided_at = clock_timestamp() WHERE id = " + std::to_string(r.application_id));
    // As the worker does: the campaign's counter of that status moves too.
    if (status == "approved" || status == "rejected") {
      Exec("UPDATE campaigns SET " + status + "_count = " + status +
           "_count + 1 WHERE id = " + std::to_string(r.campaign_id));
    }
  }

  void CancelApproved(const ApplyRecord& r) {
    Exec(
        "UPDATE applications SET status = 'cancelled', updated_at = clock_timestamp() "
        "WHERE id = " +
        std::to_string(r.application_id));
    Exec(
        "UPDATE campaigns SET approved_count = approved_count - 1, "
        "cancelled_count = cancelled_count + 1 WHERE id = " +
        std::to_string(r.campaign_id));
  }

  // Offers `r` a hold, as the worker does with a hold duration.
  void Hold(const ApplyRecord& r) {
    Exec(
        "UPDATE applications SET status = 'held', decided_at = clock_timestamp(), "
        "hold_expires_at = clock_timestamp() + interval '1 minute' WHERE id = " +
        std::to_string(r.application_id));
    Exec("UPDATE campaigns SET held_count = held_count + 1 WHERE id = " +
         std::to_string(r.campaign_id));
  }

  // Holds are outstanding: nothing pending, but not every seat decided.
  static VerifyOptions Undecided() {
    VerifyOptions options;
    options.expect_decided = false;
    return options;
  }

  // A one-seat campaign with holds, with "a" held and "b" waitlisted.
  std::vector<ApplyRecord> HeldAndWaitlisted() {
    const int64_t c = Campaign(1, true);
    Exec("UPDATE campaigns SET hold_duration_ms = 60000 WHERE id = " + std::to_string(c));
    std::vector<ApplyRecord> r = {Apply(c, "a", 0), Apply(c, "b", 10)};
    Hold(r[0]);
    Decide(r[1], "waitlisted");
    return r;
  }

  Verdict Judge(const std::vector<ApplyRecord>& records, VerifyOptions options = {}) {
    absl::StatusOr<Verdict> verdict = Verify(url_, records, options);
    EXPECT_TRUE(verdict.ok()) << verdict.status();
    return verdict.ok() ? *verdict : Verdict();
  }

  void InstallAudit() { ASSERT_TRUE(InstallDecisionAudit(url_).ok()); }

  std::string url_;
};

TEST_F(ChecksTest, ACorrectOutcomeHoldsEverything) {
  InstallAudit();
  InstallAudit();  // idempotent
  const int64_t c = Campaign(2, true);
  std::vector<ApplyRecord> r = {Apply(c, "a", 0), Apply(c, "b", 10), Apply(c, "c", 20)};
  Decide(r[0], "approved");
  Decide(r[1], "approved");
  Decide(r[2], "waitlisted");
  const Verdict v = Judge(r);
  EXPECT_TRUE(v.AllHold()) << absl::StrJoin(v.violations, "\n");
  EXPECT_TRUE(v.invariants.audit_checked);
  EXPECT_EQ(v.Campaign(c).approved, 2);
  EXPECT_EQ(v.Campaign(c).waitlisted, 1);
  EXPECT_TRUE(v.Campaign(c).fill_checked);
  EXPECT_EQ(v.acknowledged, 3);
  EXPECT_EQ(v.decided, 3);
}

TEST_F(ChecksTest, OverCapAndCounterMismatch) {
  InstallAudit();
  const int64_t c = Campaign(1, true);
  std::vector<ApplyRecord> r = {Apply(c, "a", 0), Apply(c, "b", 10)};
  Decide(r[0], "approved");
  Exec("UPDATE applications SET status = 'approved', decided_at = clock_timestamp() WHERE id = " +
       std::to_string(r[1].application_id));  // a second seat, the counter not moved
  const Verdict v = Judge(r);
  EXPECT_EQ(v.invariants.over_cap, 1);
  EXPECT_EQ(v.Campaign(c).overflow, 1);
  EXPECT_EQ(v.invariants.count_mismatch, 1);
  EXPECT_FALSE(v.AllHold());
}

TEST_F(ChecksTest, RejectedAndCancelledCountersMustMatchTheirRows) {
  InstallAudit();
  const int64_t c = Campaign(1, false);
  std::vector<ApplyRecord> r = {Apply(c, "a", 0), Apply(c, "b", 10)};
  Decide(r[0], "approved");
  Decide(r[1], "rejected", "campaign_full");
  EXPECT_EQ(Judge(r).invariants.count_mismatch, 0);
  Exec("UPDATE campaigns SET rejected_count = 0 WHERE id = " + std::to_string(c));
  EXPECT_EQ(Judge(r).invariants.count_mismatch, 1);
  Exec("UPDATE campaigns SET rejected_count = 1, cancelled_count = 1 WHERE id = " +
       std::to_string(c));
  const Verdict v = Judge(r);
  EXPECT_EQ(v.invariants.count_mismatch, 1);
  EXPECT_FALSE(v.AllHold());
}

TEST_F(ChecksTest, AcknowledgedAppliesLostUnderAnotherIdOrPending) {
  InstallAudit();
  const int64_t c = Campaign(0 + 5, true);
  std::vector<ApplyRecord> r = {Apply(c, "a", 0), Apply(c, "b", 10), Apply(c, "c", 20)};
  Decide(r[0], "approved");
  Decide(r[1], "approved");
  r[1].application_id += 100;  // the reply named another id
  ApplyRecord ghost = r[0];
  ghost.user_id = "never stored \"quoted\\";
  r.push_back(ghost);
  const Verdict v = Judge(r);
  EXPECT_EQ(v.invariants.ack_missing, 1);
  EXPECT_EQ(v.invariants.ack_wrong_id, 1);
  EXPECT_EQ(v.invariants.ack_pending, 1);
  EXPECT_EQ(v.invariants.still_pending, 1);
  VerifyOptions no_workers;
  no_workers.expect_decided = false;
  const Verdict undecided = Judge(r, no_workers);
  EXPECT_EQ(undecided.invariants.ack_pending, 0);
  EXPECT_EQ(undecided.invariants.still_pending, 0);
}

TEST_F(ChecksTest, DecidedTwiceIsCaughtByTheAudit) {
  InstallAudit();
  const int64_t c = Campaign(5, true);
  std::vector<ApplyRecord> r = {Apply(c, "a", 0)};
  Decide(r[0], "waitlisted");
  Exec("UPDATE applications SET status = 'pending', decided_at = NULL WHERE id = " +
       std::to_string(r[0].application_id));
  Decide(r[0], "approved");
  const Verdict v = Judge(r);
  EXPECT_EQ(v.invariants.decided_not_once, 1);
}

// Holds (migration 0008): a held seat counts against the cap and in
// held_count, as an approved one does in approved_count.
TEST_F(ChecksTest, AHeldSeatCountsAgainstTheCapAndInHeldCount) {
  InstallAudit();
  const int64_t c = Campaign(1, true);
  Exec("UPDATE campaigns SET hold_duration_ms = 60000 WHERE id = " + std::to_string(c));
  std::vector<ApplyRecord> r = {Apply(c, "a", 0), Apply(c, "b", 10)};
  Hold(r[0]);
  EXPECT_TRUE(Judge(r, Undecided()).AllHold());
  // A second offer, the counter not moved: over the cap and off its rows.
  Exec(
      "UPDATE applications SET status = 'held', decided_at = clock_timestamp(), "
      "hold_expires_at = clock_timestamp() + interval '1 minute' WHERE id = " +
      std::to_string(r[1].application_id));
  const Verdict v = Judge(r, Undecided());
  EXPECT_EQ(v.invariants.over_cap, 1);
  EXPECT_EQ(v.invariants.count_mismatch, 1);
}

TEST_F(ChecksTest, AStatusChangeTheServiceNeverMakesIsCaughtByTheAudit) {
  InstallAudit();
  const int64_t c = Campaign(1, true);
  Exec("UPDATE campaigns SET hold_duration_ms = 60000 WHERE id = " + std::to_string(c));
  std::vector<ApplyRecord> r = {Apply(c, "a", 0)};
  Hold(r[0]);
  EXPECT_EQ(Judge(r, Undecided()).invariants.illegal_transitions, 0);
  // A hold ends as approved, released, expired or cancelled, never back in line.
  Exec("UPDATE applications SET status = 'waitlisted', hold_expires_at = NULL WHERE id = " +
       std::to_string(r[0].application_id));
  Exec("UPDATE campaigns SET held_count = 0 WHERE id = " + std::to_string(c));
  const Verdict v = Judge(r, Undecided());
  EXPECT_EQ(v.invariants.illegal_transitions, 1);
  EXPECT_FALSE(v.AllHold());
}

TEST_F(ChecksTest, FcfsALaterHoldOverAnEarlierWaitlistedJumpedTheLine) {
  InstallAudit();
  const int64_t c = Campaign(1, true);
  Exec("UPDATE campaigns SET hold_duration_ms = 60000 WHERE id = " + std::to_string(c));
  std::vector<ApplyRecord> r = {Apply(c, "a", 0), Apply(c, "b", 10)};
  Decide(r[0], "waitlisted");
  Hold(r[1]);
  EXPECT_EQ(Judge(r, Undecided()).invariants.fcfs, 1);
}

// A hold ends (expired, counted right) while an application waits, and its
// seat goes to nobody in that transaction: docs/holds.md promises it goes
// to the first in line in the same one. A later transaction hands it on, so
// the end state is what a correct service leaves; only the audit's
// transaction-by-transaction replay sees the seat left free.
TEST_F(ChecksTest, AHoldWhoseSeatIsNotPassedOnWhenItEndsIsCaught) {
  InstallAudit();
  const std::vector<ApplyRecord> r = HeldAndWaitlisted();
  const std::string id = std::to_string(r[0].campaign_id);
  Exec(
      "UPDATE applications SET status = 'expired', hold_expires_at = NULL, "
      "updated_at = clock_timestamp() WHERE id = " +
      std::to_string(r[0].application_id) +
      "; UPDATE campaigns SET held_count = held_count - 1, expired_count = expired_count + 1 "
      "WHERE id = " +
      id);
  Hold(r[1]);  // later, by another transaction
  const Verdict v = Judge(r, Undecided());
  EXPECT_FALSE(v.AllHold());
  EXPECT_EQ(v.invariants.seat_not_passed_on, 1) << absl::StrJoin(v.violations, "\n");
}

// Two holds at once on one seat, undone by the next transaction: the end
// state and every counter are right, and no sample need fall in between;
// the audit's replay finds the commit after which the seat was offered
// twice.
TEST_F(ChecksTest, AnOfferOverTheCapUndoneByTheNextCommitIsCaught) {
  InstallAudit();
  const std::vector<ApplyRecord> r = HeldAndWaitlisted();
  const std::string id = std::to_string(r[0].campaign_id);
  Exec(
      "UPDATE applications SET status = 'held', "
      "hold_expires_at = clock_timestamp() + interval '1 minute' WHERE id = " +
      std::to_string(r[1].application_id));
  Exec("UPDATE applications SET status = 'released', hold_expires_at = NULL WHERE id = " +
       std::to_string(r[0].application_id) +
       "; UPDATE campaigns SET released_count = released_count + 1 WHERE id = " + id);
  const Verdict v = Judge(r, Undecided());
  EXPECT_FALSE(v.AllHold());
  EXPECT_EQ(v.invariants.over_cap_at_commit, 1) << absl::StrJoin(v.violations, "\n");
}

// What must hold at every instant, as the sampler and the audit see it: a
// seat offered twice (rows over the cap, the counter not), a hold still
// held 5 s past its expiry, another expired 3 s late, both with a bound of
// 1 s; and a hold left outstanding when every hold should have ended.
TEST_F(ChecksTest, OverTheCapOrLateHoldsAreCaughtBySamplesAndTheAudit) {
  InstallAudit();
  std::vector<ApplyRecord> r = HeldAndWaitlisted();
  const std::string id = std::to_string(r[0].campaign_id);
  r.push_back(Apply(r[0].campaign_id, "c", 20));
  Exec(
      "UPDATE applications SET hold_expires_at = clock_timestamp() - interval '5 seconds' "
      "WHERE id = " +
      std::to_string(r[0].application_id));
  Exec(
      "UPDATE applications SET status = 'held', "
      "hold_expires_at = clock_timestamp() + interval '1 minute' WHERE id = " +
      std::to_string(r[1].application_id));
  OfferSampler sampler(url_, {r[0].campaign_id}, std::chrono::milliseconds(1000));
  const OfferSamples samples = sampler.Stop();
  EXPECT_GE(samples.samples, 1);
  EXPECT_EQ(samples.over_cap, samples.samples);
  EXPECT_EQ(samples.overdue, samples.samples);
  EXPECT_GE(samples.most_overdue_ms, 5000);
  EXPECT_EQ(samples.most_offered, 2);

  // "c" offered, its offer dated 63 s back in the audit, then expired: with
  // holds of 60 s, 3 s late.
  Exec(
      "UPDATE applications SET status = 'held', decided_at = clock_timestamp(), "
      "hold_expires_at = clock_timestamp() + interval '1 minute' WHERE id = " +
      std::to_string(r[2].application_id));
  Exec(
      "UPDATE campaignq_check_audit SET changed_at = changed_at - interval '63 seconds' "
      "WHERE application_id = " +
      std::to_string(r[2].application_id));
  Exec("UPDATE applications SET status = 'expired', hold_expires_at = NULL WHERE id = " +
       std::to_string(r[2].application_id));
  VerifyOptions options = Undecided();
  options.hold_lateness = std::chrono::milliseconds(1000);
  options.samples = &samples;
  const Verdict v = Judge(r, options);
  EXPECT_EQ(v.invariants.sampled_over_cap, samples.samples);
  EXPECT_EQ(v.invariants.sampled_overdue, samples.samples);
  EXPECT_EQ(v.invariants.late_expiry, 1) << absl::StrJoin(v.violations, "\n");
  EXPECT_GE(v.invariants.latest_expiry_ms, 2900);
  EXPECT_EQ(v.invariants.still_held, 0);  // not asked
  options.expect_decided = true;
  options.expect_holds_ended = true;
  EXPECT_EQ(Judge(r, options).invariants.still_held, 2);
}

TEST_F(ChecksTest, MissingAuditIsAViolationOnlyWhenRequired) {
  const int64_t c = Campaign(5, true);
  std::vector<ApplyRecord> r = {Apply(c, "a", 0)};
  Decide(r[0], "approved");
  EXPECT_TRUE(Judge(r).invariants.audit_missing);
  VerifyOptions lenient;
  lenient.require_audit = false;
  const Verdict v = Judge(r, lenient);
  EXPECT_TRUE(v.AllHold()) << absl::StrJoin(v.violations, "\n");
  EXPECT_FALSE(v.invariants.audit_checked);
}

TEST_F(ChecksTest, UnderfilledCampaignBreaksFill) {
  InstallAudit();
  const int64_t c = Campaign(2, false);
  std::vector<ApplyRecord> r = {Apply(c, "a", 0), Apply(c, "b", 0), Apply(c, "c", 0)};
  Decide(r[0], "approved");
  Decide(r[1], "rejected", "campaign_full");
  Decide(r[2], "rejected", "campaign_full");
  const Verdict v = Judge(r);
  EXPECT_EQ(v.invariants.fill_wrong, 1);
  EXPECT_FALSE(v.Campaign(c).fill_ok);
}

TEST_F(ChecksTest, AttemptsChargedOnlyWhereExpected) {
  InstallAudit();
  const int64_t c = Campaign(5, true);
  std::vector<ApplyRecord> r = {Apply(c, "a", 0), Apply(c, "poison", 10)};
  Decide(r[0], "approved");
  Exec(campaignq::testing::MarkFailedSql(r[1].application_id, "boom"));
  EXPECT_EQ(Judge(r).invariants.attempts_wrong, 1);  // nobody was expected to fail
  VerifyOptions options;
  options.may_be_charged = {"poison"};
  const Verdict v = Judge(r, options);
  EXPECT_TRUE(v.AllHold()) << absl::StrJoin(v.violations, "\n");
  Exec("UPDATE applications SET attempts = 1 WHERE id = " + std::to_string(r[0].application_id));
  EXPECT_EQ(Judge(r, options).invariants.attempts_wrong, 1);  // charged without last_error
}

// Issue 9, bug 6, as the definition (fcfs.h) says: without a waitlist, a
// seat given back after A was rejected goes to B, who came later.
TEST_F(ChecksTest, FcfsSeatGivenBackAfterARejectionGoesToTheNextPending) {
  InstallAudit();
  const int64_t c = Campaign(1, false);
  std::vector<ApplyRecord> r = {Apply(c, "first", 0), Apply(c, "a", 10), Apply(c, "b", 20)};
  Decide(r[0], "approved");
  Decide(r[1], "rejected", "campaign_full");
  CancelApproved(r[0]);
  Decide(r[2], "approved");
  const Verdict v = Judge(r);
  EXPECT_TRUE(v.AllHold()) << absl::StrJoin(v.violations, "\n");
  EXPECT_EQ(v.seat_releases, 1);
  EXPECT_EQ(v.invariants.fcfs, 0);
  EXPECT_EQ(v.Campaign(c).cancelled, 1);
}

TEST_F(ChecksTest, FcfsApprovalBeforeTheSeatCameBackJumpedTheLine) {
  InstallAudit();
  const int64_t c = Campaign(2, false);
  std::vector<ApplyRecord> r = {Apply(c, "first", 0), Apply(c, "a", 10), Apply(c, "b", 20)};
  Decide(r[0], "approved");
  Decide(r[1], "rejected", "campaign_full");  // wrongly: a seat was free
  Decide(r[2], "approved");
  CancelApproved(r[0]);
  const Verdict v = Judge(r);
  EXPECT_EQ(v.invariants.fcfs, 1);
}

TEST_F(ChecksTest, FcfsLaterApprovedOverEarlierWaitlisted) {
  InstallAudit();
  const int64_t c = Campaign(1, true);
  std::vector<ApplyRecord> r = {Apply(c, "a", 0), Apply(c, "b", 10)};
  Decide(r[0], "waitlisted");
  Decide(r[1], "approved");
  EXPECT_EQ(Judge(r).invariants.fcfs, 1);
}

TEST_F(ChecksTest, AllCampaignsWithoutRecords) {
  InstallAudit();
  const int64_t c = Campaign(1, true);
  const ApplyRecord a = Apply(c, "a", 0);
  Decide(a, "approved");
  VerifyOptions options;
  options.all_campaigns = true;
  const Verdict v = Judge({}, options);
  EXPECT_TRUE(v.AllHold()) << absl::StrJoin(v.violations, "\n");
  EXPECT_EQ(v.Campaign(c).approved, 1);
}

TEST_F(ChecksTest, WaitUntilNothingPending) {
  const int64_t c = Campaign(1, true);
  const ApplyRecord a = Apply(c, "a", 0);
  int64_t seen = -1;
  auto done = WaitUntilNothingPending(url_, {c}, std::chrono::steady_clock::now(),
                                      [&](int64_t pending) { seen = pending; });
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_FALSE(*done);
  EXPECT_EQ(seen, 1);
  Decide(a, "approved");
  done = WaitUntilNothingPending(url_, {c}, std::chrono::steady_clock::now());
  ASSERT_TRUE(done.ok());
  EXPECT_TRUE(*done);
}

}  // namespace
}  // namespace campaignq::verify
