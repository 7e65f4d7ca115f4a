// The replay of seats (common/verify/seats.h) on hand-made audits: what a
// correct service leaves passes, and each broken promise is found at the
// commit that broke it.

#include "common/verify/seats.h"

#include <vector>

#include "gtest/gtest.h"

namespace campaignq::verify {
namespace {

constexpr int64_t kCampaign = 1;

StatusChange Change(int64_t application, int64_t transaction, const char* from, const char* to) {
  return {kCampaign, application, transaction, from, to};
}

SeatRules Rules(int64_t cap) {
  SeatRules r;
  r.campaign_id = kCampaign;
  r.cap = cap;
  return r;
}

// The replay found exactly one thing: `kind`, at `transaction`.
SeatFinding OnlyFinding(const SeatReplay& replay, SeatFinding::Kind kind, int64_t transaction) {
  EXPECT_EQ(replay.findings.size(), 1u);
  if (replay.findings.empty()) return {};
  EXPECT_EQ(replay.findings[0].kind, kind);
  EXPECT_EQ(replay.findings[0].transaction, transaction);
  return replay.findings[0];
}

TEST(ReplaySeats, AHoldEndingPassesItsSeatOnInItsTransaction) {
  const std::vector<StatusChange> changes = {
      Change(1, 10, "pending", "held"),  Change(2, 10, "pending", "waitlisted"),
      Change(1, 11, "held", "expired"),  Change(2, 11, "waitlisted", "held"),
      Change(2, 12, "held", "approved"),
  };
  const SeatReplay replay = ReplaySeats(changes, {Rules(1)});
  EXPECT_TRUE(replay.findings.empty());
  ASSERT_EQ(replay.totals.size(), 1u);
  EXPECT_EQ(replay.totals[0].offered, 1);
  EXPECT_EQ(replay.totals[0].waitlisted, 0);
  EXPECT_EQ(replay.totals[0].transactions, 3);
}

TEST(ReplaySeats, ASeatLeftFreeWhileSomeoneWaitsIsFound) {
  const std::vector<StatusChange> changes = {
      Change(1, 10, "pending", "held"),
      Change(2, 10, "pending", "waitlisted"),
      Change(1, 11, "held", "released"),  // to nobody
      Change(2, 12, "waitlisted", "held"),
  };
  OnlyFinding(ReplaySeats(changes, {Rules(1)}), SeatFinding::kNotPassedOn, 11);
}

TEST(ReplaySeats, NoSeatIsOwedWhileOffersAreBlockedByMaxActiveHolds) {
  SeatRules rules = Rules(3);
  rules.max_active_holds = 1;
  const std::vector<StatusChange> changes = {
      Change(1, 10, "pending", "held"),
      Change(2, 10, "pending", "held"),  // over max: not ours
      Change(3, 10, "pending", "waitlisted"),
      Change(1, 11, "held", "expired"),
  };
  // After 11 one hold is still out: max_active_holds blocks the offer.
  EXPECT_TRUE(ReplaySeats(changes, {rules}).findings.empty());
  rules.passes_seats_on = false;
  rules.max_active_holds.reset();
  EXPECT_TRUE(ReplaySeats(changes, {rules}).findings.empty());  // not judged
}

TEST(ReplaySeats, OverTheCapAtOneCommitIsFoundThoughTheNextUndoesIt) {
  const std::vector<StatusChange> changes = {
      Change(1, 10, "pending", "held"),
      Change(2, 11, "pending", "held"),
      Change(1, 12, "held", "released"),
  };
  EXPECT_EQ(OnlyFinding(ReplaySeats(changes, {Rules(1)}), SeatFinding::kOverCap, 11).offered, 2);
}

TEST(ReplaySeats, WithinOneTransactionOnlyItsEndCounts) {
  // An expiry and the promotion it makes, in one transaction, in either
  // order: never over the cap.
  const std::vector<StatusChange> changes = {
      Change(1, 10, "pending", "held"),
      Change(2, 10, "pending", "waitlisted"),
      Change(2, 11, "waitlisted", "held"),
      Change(1, 11, "held", "expired"),
  };
  EXPECT_TRUE(ReplaySeats(changes, {Rules(1)}).findings.empty());
}

TEST(ReplaySeats, ASeatGivenBackTwiceIsFound) {
  const std::vector<StatusChange> changes = {
      Change(1, 10, "pending", "approved"),
      Change(1, 11, "approved", "cancelled"),
      Change(1, 12, "cancelled", "approved"),  // illegal, (j)'s to report
      Change(1, 13, "approved", "cancelled"),
  };
  EXPECT_EQ(
      OnlyFinding(ReplaySeats(changes, {Rules(1)}), SeatFinding::kFreedTwice, 13).application_id,
      1);
}

TEST(ReplaySeats, CampaignsWithoutRulesAreSkipped) {
  const std::vector<StatusChange> changes = {{2, 1, 10, "pending", "approved"},
                                             {2, 2, 11, "pending", "approved"}};
  const SeatReplay replay = ReplaySeats(changes, {Rules(1)});
  EXPECT_TRUE(replay.findings.empty());
  ASSERT_EQ(replay.totals.size(), 1u);
  EXPECT_EQ(replay.totals[0].transactions, 0);
}

}  // namespace
}  // namespace campaignq::verify
