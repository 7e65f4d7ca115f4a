#include "common/verify/fcfs.h"

#include <vector>

#include "gtest/gtest.h"

namespace campaignq::verify {
namespace {

// Client times in milliseconds from an arbitrary start; database times in
// microseconds.
FcfsApplicant App(int64_t campaign, int send_ms, int reply_ms, Standing standing,
                  int64_t decided_at = 0, bool acknowledged = true) {
  FcfsApplicant a;
  a.campaign_id = campaign;
  a.acknowledged = acknowledged;
  a.first_send = SteadyTime(std::chrono::milliseconds(send_ms));
  a.reply = SteadyTime(std::chrono::milliseconds(reply_ms));
  a.standing = standing;
  a.decided_at_micros = decided_at;
  return a;
}

constexpr auto kApproved = Standing::kApproved;
constexpr auto kWaitlisted = Standing::kWaitlisted;
constexpr auto kFull = Standing::kRejectedFull;
constexpr auto kOther = Standing::kOther;

TEST(Fcfs, EmptyIsZero) { EXPECT_EQ(CountFcfsViolations({}, {}), 0); }

TEST(Fcfs, InOrderIsNoViolation) {
  EXPECT_EQ(CountFcfsViolations({App(1, 0, 10, kApproved), App(1, 20, 30, kWaitlisted)}, {}), 0);
}

TEST(Fcfs, LaterApprovedOverEarlierWaitlistedIsViolation) {
  EXPECT_EQ(CountFcfsViolations({App(1, 0, 10, kWaitlisted), App(1, 20, 30, kApproved)}, {}), 1);
}

TEST(Fcfs, RejectedAsFullIsALoser) {
  EXPECT_EQ(CountFcfsViolations({App(1, 0, 10, kFull, 100), App(1, 20, 30, kApproved, 200)}, {}),
            1);
}

TEST(Fcfs, FailedCancelledOrClosedAreNeitherAnorB) {
  EXPECT_EQ(CountFcfsViolations({App(1, 0, 10, kOther), App(1, 20, 30, kApproved)}, {}), 0);
  EXPECT_EQ(CountFcfsViolations({App(1, 0, 10, kWaitlisted), App(1, 20, 30, kOther)}, {}), 0);
}

TEST(Fcfs, OverlappingAppliesAreNeverViolations) {
  // B was sent (5) before A's reply (10); C was sent exactly at A's reply.
  EXPECT_EQ(
      CountFcfsViolations(
          {App(1, 0, 10, kWaitlisted), App(1, 5, 30, kApproved), App(1, 10, 12, kApproved)}, {}),
      0);
}

TEST(Fcfs, UnacknowledgedMayBeBNeverA) {
  EXPECT_EQ(
      CountFcfsViolations({App(1, 0, 10, kWaitlisted, 0, false), App(1, 20, 30, kApproved)}, {}),
      0);
  EXPECT_EQ(
      CountFcfsViolations({App(1, 0, 10, kWaitlisted), App(1, 20, 30, kApproved, 0, false)}, {}),
      1);
}

TEST(Fcfs, CampaignsAreIndependent) {
  EXPECT_EQ(CountFcfsViolations({App(1, 0, 10, kWaitlisted), App(2, 20, 30, kApproved)}, {{1, 50}}),
            0);
}

TEST(Fcfs, EachViolatingBCountsOnce) {
  EXPECT_EQ(CountFcfsViolations(
                {App(1, 0, 10, kWaitlisted), App(1, 1, 11, kWaitlisted), App(1, 50, 60, kApproved),
                 App(1, 70, 80, kApproved), App(1, 9, 90, kApproved)},
                {}),
            2);
}

// The exception: a seat given back after A was rejected as full and before
// B was approved went to B, the next pending one.
TEST(Fcfs, SeatGivenBackBetweenExcusesBOverRejectedA) {
  EXPECT_EQ(
      CountFcfsViolations({App(1, 0, 10, kFull, 100), App(1, 20, 30, kApproved, 300)}, {{1, 200}}),
      0);
}

TEST(Fcfs, SeatGivenBackTooEarlyOrTooLateExcusesNothing) {
  const std::vector<FcfsApplicant> apps = {App(1, 0, 10, kFull, 100),
                                           App(1, 20, 30, kApproved, 300)};
  EXPECT_EQ(CountFcfsViolations(apps, {{1, 50}}), 1);   // before A lost
  EXPECT_EQ(CountFcfsViolations(apps, {{1, 400}}), 1);  // after B won
  EXPECT_EQ(CountFcfsViolations(apps, {{2, 200}}), 1);  // another campaign's seat
}

TEST(Fcfs, OneReleaseMustFollowEveryEarlierLoser) {
  // A1 lost at 100, A2 at 250; the only seat came back at 200: B (approved
  // at 300) jumped A2.
  EXPECT_EQ(CountFcfsViolations({App(1, 0, 10, kFull, 100), App(1, 1, 11, kFull, 250),
                                 App(1, 20, 30, kApproved, 300)},
                                {{1, 200}}),
            1);
  EXPECT_EQ(CountFcfsViolations({App(1, 0, 10, kFull, 100), App(1, 1, 11, kFull, 250),
                                 App(1, 20, 30, kApproved, 300)},
                                {{1, 200}, {1, 260}}),
            0);
}

// A seat given back while A waits on the waitlist goes to the waitlist
// (A or someone ahead of A), never to B: no excuse over a waitlisted A.
TEST(Fcfs, SeatGivenBackNeverExcusesBOverWaitlistedA) {
  EXPECT_EQ(CountFcfsViolations({App(1, 0, 10, kWaitlisted, 100), App(1, 20, 30, kApproved, 300)},
                                {{1, 200}}),
            1);
}

}  // namespace
}  // namespace campaignq::verify
