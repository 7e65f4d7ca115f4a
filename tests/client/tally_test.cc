#include "client/tally.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace campaignq::client {
namespace {

constexpr auto kPending = v1::APPLICATION_STATUS_PENDING;
constexpr auto kApproved = v1::APPLICATION_STATUS_APPROVED;
constexpr auto kWaitlisted = v1::APPLICATION_STATUS_WAITLISTED;
constexpr auto kRejected = v1::APPLICATION_STATUS_REJECTED;
constexpr auto kCancelled = v1::APPLICATION_STATUS_CANCELLED;

v1::Campaign Camp(int64_t id, int32_t cap, bool waitlist, int32_t approved_count) {
  v1::Campaign c;
  c.set_id(id);
  if (cap > 0) c.set_max_participants(cap);
  c.set_waitlist(waitlist);
  c.set_approved_count(approved_count);
  c.set_status(v1::CAMPAIGN_STATUS_OPEN);
  return c;
}

// A storm in miniature: applicant i of `campaign` is sent at 100*i, replied
// at 100*i+10 (no overlap), stored with statuses[i].
struct Fixture {
  std::vector<v1::Campaign> campaigns;
  std::vector<v1::Application> apps;
  std::vector<ApplicantRecord> records;

  void Add(int64_t campaign, const std::vector<v1::ApplicationStatus>& statuses,
           const std::string& reason = "") {
    for (size_t i = 0; i < statuses.size(); ++i) {
      const std::string user = "c" + std::to_string(campaign) + "-u" + std::to_string(i);
      v1::Application a;
      a.set_id(static_cast<int64_t>(apps.size()) + 1);
      a.set_campaign_id(campaign);
      a.set_user_id(user);
      a.set_status(statuses[i]);
      if (statuses[i] == kRejected) a.set_reason(reason);
      apps.push_back(a);
      ApplicantRecord r;
      r.campaign_id = campaign;
      r.user_id = user;
      r.send_ns = 100 * static_cast<int64_t>(i);
      r.reply_ns = r.send_ns + 10;
      r.attempts = 1;
      r.acknowledged = true;
      records.push_back(r);
    }
  }

  StormReport Evaluate() {
    AttachOutcomes(apps, &records);
    return EvaluateStorm(campaigns, apps, records);
  }
};

TEST(EvaluateStorm, CorrectWaitlistStormHoldsEverything) {
  Fixture f;
  f.campaigns = {Camp(1, 2, true, 2), Camp(2, 2, true, 1)};
  f.Add(1, {kApproved, kApproved, kWaitlisted, kWaitlisted});
  f.Add(2, {kApproved});
  StormReport r = f.Evaluate();
  EXPECT_TRUE(r.invariants.AllHold());
  ASSERT_EQ(r.campaigns.size(), 2u);
  EXPECT_EQ(r.campaigns[0].approved, 2);
  EXPECT_EQ(r.campaigns[0].waitlisted, 2);
  EXPECT_EQ(r.campaigns[0].acknowledged, 4);
  EXPECT_TRUE(r.campaigns[1].fill_checked);
  EXPECT_TRUE(r.campaigns[1].fill_ok);  // 1 applicant < cap 2: approved == 1
  EXPECT_EQ(r.totals.approved, 3);
  ASSERT_TRUE(r.totals.cap.has_value());
  EXPECT_EQ(*r.totals.cap, 4);
  EXPECT_EQ(r.applicants, 5);
  EXPECT_EQ(r.acknowledged, 5);
  EXPECT_EQ(r.decided, 5);
  EXPECT_EQ(r.invariants.fill_skipped, 0);
}

TEST(EvaluateStorm, NoWaitlistRejectsAsFull) {
  Fixture f;
  f.campaigns = {Camp(1, 1, false, 1)};
  f.Add(1, {kApproved, kRejected, kRejected}, kReasonCampaignFull);
  StormReport r = f.Evaluate();
  EXPECT_TRUE(r.invariants.AllHold());
  EXPECT_EQ(r.campaigns[0].rejected_full, 2);
}

TEST(EvaluateStorm, NoWaitlistButWaitlistedBreaksFill) {
  Fixture f;
  f.campaigns = {Camp(1, 1, false, 1)};
  f.Add(1, {kApproved, kWaitlisted});
  StormReport r = f.Evaluate();
  EXPECT_EQ(r.invariants.fill_wrong, 1);
  EXPECT_FALSE(r.invariants.AllHold());
}

TEST(EvaluateStorm, OverCapIsFlaggedWithOverflow) {
  Fixture f;
  f.campaigns = {Camp(1, 2, true, 3)};
  f.Add(1, {kApproved, kApproved, kApproved});
  StormReport r = f.Evaluate();
  EXPECT_EQ(r.campaigns[0].overflow, 1);
  EXPECT_EQ(r.invariants.over_cap, 1);
  EXPECT_EQ(r.invariants.fill_wrong, 1);
  EXPECT_EQ(r.invariants.count_mismatch, 0);
}

TEST(EvaluateStorm, UnderfilledCampaignBreaksFill) {
  Fixture f;
  f.campaigns = {Camp(1, 3, true, 1)};
  f.Add(1, {kApproved, kWaitlisted, kWaitlisted});
  EXPECT_EQ(f.Evaluate().invariants.fill_wrong, 1);
}

TEST(EvaluateStorm, ApprovedCountMismatch) {
  Fixture f;
  f.campaigns = {Camp(1, 5, true, 3)};
  f.Add(1, {kApproved, kApproved});
  StormReport r = f.Evaluate();
  EXPECT_TRUE(r.campaigns[0].count_mismatch);
  EXPECT_EQ(r.invariants.count_mismatch, 1);
}

TEST(EvaluateStorm, UnlimitedCampaignApprovesEveryone) {
  Fixture f;
  f.campaigns = {Camp(1, 0, true, 3)};
  f.Add(1, {kApproved, kApproved, kApproved});
  StormReport r = f.Evaluate();
  EXPECT_TRUE(r.invariants.AllHold());
  EXPECT_FALSE(r.campaigns[0].cap.has_value());
  EXPECT_FALSE(r.totals.cap.has_value());
}

TEST(EvaluateStorm, PendingSkipsFillAndBreaksDecided) {
  Fixture f;
  f.campaigns = {Camp(1, 2, true, 1)};
  f.Add(1, {kApproved, kPending});
  StormReport r = f.Evaluate();
  EXPECT_EQ(r.invariants.fill_skipped, 1);
  EXPECT_EQ(r.invariants.fill_wrong, 0);
  EXPECT_EQ(r.invariants.ack_pending, 1);
  EXPECT_FALSE(r.invariants.AllHold());
}

TEST(EvaluateStorm, CancelledSkipsFill) {
  Fixture f;
  f.campaigns = {Camp(1, 1, true, 1)};
  f.Add(1, {kCancelled, kApproved});
  StormReport r = f.Evaluate();
  EXPECT_EQ(r.invariants.fill_skipped, 1);
  EXPECT_TRUE(r.invariants.AllHold());
}

TEST(EvaluateStorm, AcknowledgedButMissingRow) {
  Fixture f;
  f.campaigns = {Camp(1, 2, true, 1)};
  f.Add(1, {kApproved, kApproved});
  f.apps.pop_back();  // the server lost an acknowledged apply
  f.campaigns[0].set_approved_count(1);
  StormReport r = f.Evaluate();
  EXPECT_EQ(r.invariants.ack_missing, 1);
  EXPECT_FALSE(r.invariants.AllHold());
}

TEST(EvaluateStorm, DuplicateRowsAreCounted) {
  Fixture f;
  f.campaigns = {Camp(1, 5, true, 2)};
  f.Add(1, {kApproved});
  v1::Application copy = f.apps[0];
  copy.set_id(99);
  f.apps.push_back(copy);
  StormReport r = f.Evaluate();
  EXPECT_EQ(r.invariants.ack_duplicated, 1);
}

TEST(EvaluateStorm, UnacknowledgedApplyIsAFailureNotAnInvariant) {
  Fixture f;
  f.campaigns = {Camp(1, 5, true, 1)};
  f.Add(1, {kApproved});
  ApplicantRecord lost;
  lost.campaign_id = 1;
  lost.user_id = "never-landed";
  lost.attempts = 8;
  f.records.push_back(lost);
  StormReport r = f.Evaluate();
  EXPECT_EQ(r.apply_failures, 1);
  EXPECT_EQ(r.acknowledged, 1);
  EXPECT_TRUE(r.invariants.AllHold());
}

TEST(EvaluateStorm, FcfsViolationIsCounted) {
  Fixture f;
  f.campaigns = {Camp(1, 1, true, 1)};
  f.Add(1, {kWaitlisted, kApproved});  // the first (earlier, non-overlapping) lost
  StormReport r = f.Evaluate();
  EXPECT_EQ(r.invariants.fcfs, 1);
  EXPECT_FALSE(r.invariants.AllHold());
}

TEST(AttachOutcomes, FillsIdStatusReasonByCampaignAndUser) {
  std::vector<v1::Application> apps(2);
  apps[0].set_id(7);
  apps[0].set_campaign_id(1);
  apps[0].set_user_id("u");
  apps[0].set_status(kRejected);
  apps[0].set_reason(kReasonCampaignFull);
  apps[1].set_id(8);
  apps[1].set_campaign_id(2);
  apps[1].set_user_id("u");
  apps[1].set_status(kApproved);
  std::vector<ApplicantRecord> records(3);
  records[0].campaign_id = 2;
  records[0].user_id = "u";
  records[1].campaign_id = 1;
  records[1].user_id = "u";
  records[2].campaign_id = 1;
  records[2].user_id = "nobody";
  AttachOutcomes(apps, &records);
  EXPECT_EQ(records[0].application_id, 8);
  EXPECT_EQ(records[0].status, kApproved);
  EXPECT_EQ(records[1].application_id, 7);
  EXPECT_EQ(records[1].reason, kReasonCampaignFull);
  EXPECT_EQ(records[2].application_id, 0);
  EXPECT_EQ(records[2].status, v1::APPLICATION_STATUS_UNSPECIFIED);
}

TEST(DecisionSpanSeconds, FirstCreateToLastDecide) {
  std::vector<v1::Application> apps(2);
  apps[0].mutable_create_time()->set_seconds(100);
  apps[0].mutable_decide_time()->set_seconds(101);
  apps[1].mutable_create_time()->set_seconds(102);
  apps[1].mutable_decide_time()->set_seconds(104);
  apps[1].mutable_decide_time()->set_nanos(500000000);
  EXPECT_DOUBLE_EQ(DecisionSpanSeconds(apps), 4.5);
  EXPECT_DOUBLE_EQ(DecisionSpanSeconds({}), 0.0);
}

TEST(FinishRates, DividesCountsBySpans) {
  StormReport r;
  r.acknowledged = 100;
  r.decided = 50;
  r.apply_seconds = 2;
  r.decide_seconds = 0;
  FinishRates(&r);
  EXPECT_DOUBLE_EQ(r.applies_per_second, 50);
  EXPECT_DOUBLE_EQ(r.decisions_per_second, 0);
}

}  // namespace
}  // namespace campaignq::client
