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

// A pre-queued application (queue_key < 0, id) of the same campaign.
FcfsApplicant Pre(int64_t key, int64_t id, int send_ms, int reply_ms, Standing standing,
                  int64_t decided_at = 0) {
  FcfsApplicant a = App(1, send_ms, reply_ms, standing, decided_at);
  a.queue_key = key;
  a.application_id = id;
  return a;
}

// Overlapping times would excuse B between two arrivals; the pre-queue is
// ahead of every arrival whatever the times.
TEST(Fcfs, APrequeuedLoserIsAheadOfEveryArrival) {
  EXPECT_EQ(CountFcfsViolations({Pre(-5, 1, 0, 100, kWaitlisted), App(1, 50, 60, kApproved)}, {}),
            1);
  EXPECT_EQ(CountFcfsViolations({Pre(-5, 1, 0, 100, kFull, 10), App(1, 50, 60, kApproved, 20)}, {}),
            1);
  // A seat given back after the pre-queued A lost excuses B as before.
  EXPECT_EQ(CountFcfsViolations({Pre(-5, 1, 0, 100, kFull, 10), App(1, 50, 60, kApproved, 30)},
                                {{1, 20}}),
            0);
}

// Within the pre-queue the place orders, not the client's times.
TEST(Fcfs, WithinThePrequeueThePlaceOrdersNotTheTimes) {
  // A acknowledged before B was sent, but B's place is ahead: no violation.
  EXPECT_EQ(
      CountFcfsViolations({Pre(-5, 1, 0, 10, kWaitlisted), Pre(-9, 2, 20, 30, kApproved)}, {}), 0);
  // B sent before A's reply (overlap), but A's place is ahead: a violation.
  EXPECT_EQ(
      CountFcfsViolations({Pre(-9, 2, 0, 100, kWaitlisted), Pre(-5, 1, 10, 20, kApproved)}, {}), 1);
  // Equal keys: the id orders.
  EXPECT_EQ(
      CountFcfsViolations({Pre(-5, 1, 0, 100, kFull, 10), Pre(-5, 2, 10, 20, kApproved, 20)}, {}),
      1);
  EXPECT_EQ(
      CountFcfsViolations({Pre(-5, 2, 0, 100, kFull, 10), Pre(-5, 1, 10, 20, kApproved, 20)}, {}),
      0);
}

// An arrival never outranks a pre-queued B.
TEST(Fcfs, AnArrivalIsNeverAheadOfThePrequeue) {
  EXPECT_EQ(CountFcfsViolations({App(1, 0, 10, kWaitlisted), Pre(-5, 1, 20, 30, kApproved)}, {}),
            0);
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
