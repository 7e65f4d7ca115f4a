#include "client/fcfs.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace campaignq::client {
namespace {

ApplicantRecord Rec(int64_t campaign, const std::string& user, int64_t send, int64_t reply,
                    v1::ApplicationStatus status, const std::string& reason = "") {
  ApplicantRecord r;
  r.campaign_id = campaign;
  r.user_id = user;
  r.send_ns = send;
  r.reply_ns = reply;
  r.acknowledged = true;
  r.attempts = 1;
  r.status = status;
  r.reason = reason;
  return r;
}

constexpr auto kApproved = v1::APPLICATION_STATUS_APPROVED;
constexpr auto kWaitlisted = v1::APPLICATION_STATUS_WAITLISTED;
constexpr auto kRejected = v1::APPLICATION_STATUS_REJECTED;

TEST(CountFcfsViolations, EmptyIsZero) { EXPECT_EQ(CountFcfsViolations({}), 0); }

TEST(CountFcfsViolations, InOrderIsNoViolation) {
  std::vector<ApplicantRecord> r = {Rec(1, "a", 0, 10, kApproved),
                                    Rec(1, "b", 20, 30, kWaitlisted)};
  EXPECT_EQ(CountFcfsViolations(r), 0);
}

TEST(CountFcfsViolations, LaterApprovedOverEarlierWaitlistedIsViolation) {
  // A returned at 10, B was sent at 20 yet B won the seat.
  std::vector<ApplicantRecord> r = {Rec(1, "a", 0, 10, kWaitlisted),
                                    Rec(1, "b", 20, 30, kApproved)};
  EXPECT_EQ(CountFcfsViolations(r), 1);
}

TEST(CountFcfsViolations, RejectedAsFullCountsAsLoser) {
  std::vector<ApplicantRecord> r = {Rec(1, "a", 0, 10, kRejected, kReasonCampaignFull),
                                    Rec(1, "b", 20, 30, kApproved)};
  EXPECT_EQ(CountFcfsViolations(r), 1);
}

TEST(CountFcfsViolations, RejectedAsClosedIsNotALoser) {
  std::vector<ApplicantRecord> r = {Rec(1, "a", 0, 10, kRejected, "campaign_closed"),
                                    Rec(1, "b", 20, 30, kApproved)};
  EXPECT_EQ(CountFcfsViolations(r), 0);
}

TEST(CountFcfsViolations, OverlappingAppliesAreNeverViolations) {
  // B was sent (5) before A's reply (10): the server may order them freely.
  std::vector<ApplicantRecord> r = {Rec(1, "a", 0, 10, kWaitlisted), Rec(1, "b", 5, 30, kApproved),
                                    Rec(1, "c", 10, 12, kApproved)};  // send == reply: not after
  EXPECT_EQ(CountFcfsViolations(r), 0);
}

TEST(CountFcfsViolations, ManyOverlappingConcurrentAppliesNoViolation) {
  // 100 applies all in flight at once ([0, 1000]); any winners are fine.
  std::vector<ApplicantRecord> r;
  for (int i = 0; i < 100; ++i) {
    r.push_back(Rec(1, std::to_string(i), i, 1000 + i, i % 3 == 0 ? kApproved : kWaitlisted));
  }
  EXPECT_EQ(CountFcfsViolations(r), 0);
}

TEST(CountFcfsViolations, CampaignsAreIndependent) {
  // A lost in campaign 1; B won in campaign 2 later: no relation.
  std::vector<ApplicantRecord> r = {Rec(1, "a", 0, 10, kWaitlisted),
                                    Rec(2, "b", 20, 30, kApproved)};
  EXPECT_EQ(CountFcfsViolations(r), 0);
}

TEST(CountFcfsViolations, EachViolatingApprovedCountsOnce) {
  // Two earlier losers, two later winners, one winner overlapping.
  std::vector<ApplicantRecord> r = {
      Rec(1, "l1", 0, 10, kWaitlisted), Rec(1, "l2", 1, 11, kWaitlisted),
      Rec(1, "w1", 50, 60, kApproved),  Rec(1, "w2", 70, 80, kApproved),
      Rec(1, "w3", 9, 90, kApproved),  // sent before any loser returned
  };
  EXPECT_EQ(CountFcfsViolations(r), 2);
}

TEST(CountFcfsViolations, UnacknowledgedLoserIsIgnored) {
  std::vector<ApplicantRecord> r = {Rec(1, "a", 0, 10, kWaitlisted),
                                    Rec(1, "b", 20, 30, kApproved)};
  r[0].acknowledged = false;  // its reply time proves nothing
  EXPECT_EQ(CountFcfsViolations(r), 0);
}

TEST(CountFcfsViolations, UnsortedInputAcrossCampaigns) {
  std::vector<ApplicantRecord> r = {
      Rec(2, "b2", 20, 30, kApproved),
      Rec(1, "b1", 20, 30, kApproved),
      Rec(2, "a2", 0, 10, kWaitlisted),
      Rec(1, "a1", 25, 35, kWaitlisted),
  };
  EXPECT_EQ(CountFcfsViolations(r), 1);  // only campaign 2
}

}  // namespace
}  // namespace campaignq::client
