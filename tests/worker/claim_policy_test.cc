// worker/claim_policy.h: what a worker thread claims next, every transition
// driven without PostgreSQL: batch results are built here, time is passed
// in, and the jitter is a recording fake (or the real one, where its bounds
// are the point).

#include "worker/claim_policy.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <pqxx/pqxx>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "common/db/pg_status.h"

namespace campaignq::worker {

// Names the kinds in failure messages.
void PrintTo(Claim::Kind kind, std::ostream* out) {
  switch (kind) {
    case Claim::Kind::kIsolatedHead:
      *out << "kIsolatedHead";
      return;
    case Claim::Kind::kNotified:
      *out << "kNotified";
      return;
    case Claim::Kind::kByWindow:
      *out << "kByWindow";
      return;
    case Claim::Kind::kFairestNowait:
      *out << "kFairestNowait";
      return;
    case Claim::Kind::kFairestBlocking:
      *out << "kFairestBlocking";
      return;
    case Claim::Kind::kExpireHolds:
      *out << "kExpireHolds";
      return;
  }
}

namespace {

using std::chrono::milliseconds;
using Kind = Claim::Kind;
using Next = Reaction::Next;

const Clock::time_point kStart = Clock::time_point() + std::chrono::hours(1);

absl::Status Sqlstate(const char* state) {
  return db::StatusFromException(pqxx::sql_error("injected", "", state));
}

// A successful batch of `counts[i]` decisions of campaign `campaigns[i]`.
queue::BatchResult Decided(const std::vector<int64_t>& campaigns, const std::vector<int>& counts) {
  queue::BatchResult result;
  result.campaign_id = campaigns.front();
  result.campaign_ids = campaigns;
  result.campaign_locked = true;
  for (size_t i = 0; i < campaigns.size(); ++i) {
    for (int n = 0; n < counts[i]; ++n) {
      result.decisions.push_back(
          {static_cast<int64_t>(result.decisions.size() + 1), "approved", 0, campaigns[i]});
    }
  }
  return result;
}

queue::BatchResult Failed(absl::Status status, std::vector<int64_t> campaigns = {}) {
  queue::BatchResult result;
  result.status = std::move(status);
  if (!campaigns.empty()) {
    result.campaign_id = campaigns.front();
    result.campaign_ids = std::move(campaigns);
    result.campaign_locked = true;
  }
  return result;
}

class ClaimPolicyTest : public ::testing::Test {
 protected:
  ClaimPolicyTest() { Reset(ClaimPolicyOptions()); }

  void Reset(ClaimPolicyOptions options) {
    options.batch_size = 10;
    options.max_campaigns_per_batch = 8;
    options.idle_wait = milliseconds(2000);
    options.campaign_backoff = {milliseconds(10), milliseconds(400)};
    options.reconnect_backoff = {milliseconds(100), milliseconds(5000)};
    options_ = options;
    attempts_.clear();
    policy_ =
        std::make_unique<ClaimPolicy>(options, [this](const BackoffPolicy& policy, int attempt) {
          attempts_.push_back(attempt);
          return std::chrono::duration_cast<milliseconds>(policy.initial) * (attempt + 1);
        });
    policy_->Connected(kStart);
  }

  // One turn: the claim the policy asks for, answered with `result`.
  Reaction Turn(const queue::BatchResult& result, Clock::time_point now = kStart,
                bool open = true) {
    last_ = policy_->NextClaim(now);
    return policy_->Observe(last_, result, open, now);
  }

  ClaimPolicyOptions options_;
  std::vector<int> attempts_;
  std::unique_ptr<ClaimPolicy> policy_;
  Claim last_;
};

TEST_F(ClaimPolicyTest, SkipLockedClaimsByWindowAndSleepsWhenNothingIsPending) {
  const Claim first = policy_->NextClaim(kStart);
  EXPECT_EQ(first.kind, Kind::kByWindow);
  EXPECT_EQ(first.window.batch_size, 10);
  EXPECT_EQ(first.window.max_campaigns, 1);
  EXPECT_TRUE(first.window.excluded_campaigns.empty());
  const Reaction idle = policy_->Observe(first, queue::BatchResult(), true, kStart);
  EXPECT_EQ(idle.outcome, BatchOutcome::kNothing);
  EXPECT_EQ(idle.next, Next::kSleep);
  EXPECT_EQ(idle.wait, milliseconds(2000));
  EXPECT_EQ(idle.campaigns_per_wake, 1u);
}

TEST_F(ClaimPolicyTest, TheOtherLockModesClaimTheFairestTheirWay) {
  ClaimPolicyOptions nowait;
  nowait.lock_mode = queue::LockMode::kNowait;
  Reset(nowait);
  policy_->Woken({4});  // named campaigns are skip-locked's step 0 only
  EXPECT_EQ(policy_->NextClaim(kStart).kind, Kind::kFairestNowait);
  ClaimPolicyOptions blocking;
  blocking.lock_mode = queue::LockMode::kBlocking;
  Reset(blocking);
  EXPECT_EQ(policy_->NextClaim(kStart).kind, Kind::kFairestBlocking);
}

TEST_F(ClaimPolicyTest, ARefusedNowaitLockBacksThatCampaignOffAndClaimsTheNextAtOnce) {
  ClaimPolicyOptions nowait;
  nowait.lock_mode = queue::LockMode::kNowait;
  Reset(nowait);
  queue::BatchResult refused;
  refused.campaign_id = 5;
  refused.lock_refused = true;
  const Reaction reaction = Turn(refused);
  EXPECT_EQ(reaction.outcome, BatchOutcome::kLockRefused);
  EXPECT_EQ(reaction.next, Next::kClaim);
  EXPECT_EQ(reaction.shrunk_batch_size, 0);
  const Claim next = policy_->NextClaim(kStart);
  EXPECT_EQ(next.kind, Kind::kFairestNowait);
  EXPECT_EQ(next.window.excluded_campaigns, std::vector<int64_t>{5});
  EXPECT_EQ(policy_->suspect(), std::nullopt) << "a refusal is no one's fault";
  // Its back-off is over within campaign_backoff.max.
  EXPECT_TRUE(policy_->NextClaim(kStart + milliseconds(401)).window.excluded_campaigns.empty());
}

TEST_F(ClaimPolicyTest, AFullBatchClaimsAgainAndWakesAnotherAShortOneClaimsAgainAlone) {
  const Reaction full = Turn(Decided({3}, {10}));
  EXPECT_EQ(full.outcome, BatchOutcome::kDecided);
  EXPECT_EQ(full.next, Next::kClaim);
  EXPECT_TRUE(full.wake_another);
  const Reaction short_batch = Turn(Decided({3}, {4}));
  EXPECT_EQ(short_batch.next, Next::kClaim) << "other campaigns may have work";
  EXPECT_FALSE(short_batch.wake_another);
  EXPECT_EQ(Turn(queue::BatchResult()).next, Next::kSleep);
}

TEST_F(ClaimPolicyTest, CampaignsPerBatchDoubleWhileBatchesAreShortAndFallToThoseAFullOneUsed) {
  std::vector<int> seen;
  for (int i = 0; i < 5; ++i) {
    Turn(Decided({1, 2}, {1, 1}));  // every campaign ran dry
    seen.push_back(policy_->campaigns_per_batch());
  }
  EXPECT_EQ(seen, (std::vector<int>{2, 4, 8, 8, 8})) << "capped at max_campaigns_per_batch";
  EXPECT_EQ(policy_->NextClaim(kStart).window.max_campaigns, 8);
  Turn(Decided({1, 2, 3}, {4, 4, 2}));  // full: three were enough
  EXPECT_EQ(policy_->campaigns_per_batch(), 3);
  queue::BatchResult uncapped = Decided({9}, {1});
  uncapped.uncapped = true;  // no campaign lock taken: says nothing about how many
  Turn(uncapped);
  EXPECT_EQ(policy_->campaigns_per_batch(), 3);
}

TEST_F(ClaimPolicyTest, AWakeUpNamingCampaignsDecidesThoseNotBackingOff) {
  Turn(Failed(Sqlstate(db::kSqlstateDeadlockDetected), {7}));  // 7 backs off
  policy_->Woken({7, 8, 9});
  const Claim claim = policy_->NextClaim(kStart);
  EXPECT_EQ(claim.kind, Kind::kNotified);
  EXPECT_EQ(claim.notified, (std::vector<int64_t>{8, 9}));
  EXPECT_EQ(claim.window.batch_size, 10);
  // Only 7 named, and it backs off: the window claim (which leaves it out).
  policy_->Woken({7});
  const Claim window = policy_->NextClaim(kStart);
  EXPECT_EQ(window.kind, Kind::kByWindow);
  EXPECT_EQ(window.window.excluded_campaigns, std::vector<int64_t>{7});
}

TEST_F(ClaimPolicyTest, AShortNotifiedOnlyBatchSleepsUntilTheNextWakeUp) {
  policy_->Woken({8});
  queue::BatchResult decided = Decided({8}, {3});
  decided.uncapped = true;
  decided.notified_only = true;
  const Reaction reaction = Turn(decided);
  EXPECT_EQ(last_.kind, Kind::kNotified);
  EXPECT_EQ(reaction.outcome, BatchOutcome::kDecided);
  EXPECT_EQ(reaction.next, Next::kSleep) << "claiming again would only find nothing";
  // Nothing to decide and nothing capped: asleep too.
  policy_->Woken({8});
  queue::BatchResult nothing;
  nothing.notified_only = true;
  EXPECT_EQ(Turn(nothing).next, Next::kSleep);
  // The wake-up was used: the next claim is the window's.
  EXPECT_EQ(policy_->NextClaim(kStart).kind, Kind::kByWindow);
}

TEST_F(ClaimPolicyTest, NotifiedCampaignsThatNeedTheLockAreHintedToTheNextWindowClaim) {
  policy_->Woken({4, 5});
  queue::BatchResult nothing;
  nothing.needs_lock = {5};  // capped: only steps 1-3 decide it
  const Reaction reaction = Turn(nothing);
  EXPECT_EQ(reaction.outcome, BatchOutcome::kNothing);
  EXPECT_EQ(reaction.next, Next::kClaim);
  const Claim next = policy_->NextClaim(kStart);
  EXPECT_EQ(next.kind, Kind::kByWindow);
  EXPECT_EQ(next.window.hinted_campaigns, std::vector<int64_t>{5});
  // Decided something and left one capped: the window claim at once, hinted.
  policy_->Woken({4, 5});
  queue::BatchResult some = Decided({4}, {2});
  some.uncapped = true;
  some.needs_lock = {5};
  EXPECT_EQ(Turn(some).next, Next::kClaim);
  EXPECT_EQ(policy_->NextClaim(kStart).window.hinted_campaigns, std::vector<int64_t>{5});
  // A hint is used once.
  EXPECT_TRUE(policy_->NextClaim(kStart).window.hinted_campaigns.empty());
}

// A pre-queue at its opening: its rows lie below the window's low-water
// mark (claim_window.h: a campaign not open yet never holds it down), so
// only a claim that names the campaign finds them until the next rebase. A
// full batch of a named campaign leaves the rest to the next claim, which
// must name it again (it was lost: the rest decided on the 2 s poll).
TEST_F(ClaimPolicyTest, AFullBatchOfANamedCampaignNamesItAgainInTheNextClaim) {
  policy_->Woken({5});
  queue::BatchResult capped;
  capped.needs_lock = {5};
  Turn(capped);
  EXPECT_EQ(Turn(Decided({5}, {10})).next, Next::kClaim);
  EXPECT_EQ(last_.window.hinted_campaigns, std::vector<int64_t>{5});
  Claim next = policy_->NextClaim(kStart);
  EXPECT_EQ(next.kind, Kind::kByWindow);
  EXPECT_EQ(next.window.hinted_campaigns, std::vector<int64_t>{5});
  // Uncapped: the notified claim again (never under the campaign lock).
  policy_->Woken({8});
  queue::BatchResult uncapped = Decided({8}, {10});
  uncapped.uncapped = true;
  uncapped.notified_only = true;
  EXPECT_EQ(Turn(uncapped).next, Next::kClaim);
  next = policy_->NextClaim(kStart);
  EXPECT_EQ(next.kind, Kind::kNotified);
  EXPECT_EQ(next.notified, std::vector<int64_t>{8});
  // Step 0 stops at a full batch: the campaigns it did not reach are named
  // again too, but not one it looked at and decided nothing of (7).
  policy_->Woken({6, 7, 8, 9});
  uncapped = Decided({6, 8}, {4, 6});
  uncapped.uncapped = true;
  uncapped.notified_only = true;
  EXPECT_EQ(Turn(uncapped).next, Next::kClaim);
  next = policy_->NextClaim(kStart);
  EXPECT_EQ(next.kind, Kind::kNotified);
  EXPECT_EQ(next.notified, (std::vector<int64_t>{6, 8, 9}));
  // A short batch decided the campaign's rest: no name carried.
  policy_->Woken({8});
  uncapped = Decided({8}, {3});
  uncapped.uncapped = true;
  uncapped.notified_only = true;
  EXPECT_EQ(Turn(uncapped).next, Next::kSleep);
  next = policy_->NextClaim(kStart);
  EXPECT_EQ(next.kind, Kind::kByWindow);
  EXPECT_TRUE(next.window.hinted_campaigns.empty());
}

TEST_F(ClaimPolicyTest, ANotifyStormIsTakenInBatchesWithADecideWindowAndOneAtATimeWithout) {
  EXPECT_EQ(Turn(queue::BatchResult()).campaigns_per_wake, 1u);
  ClaimPolicyOptions windowed;
  windowed.decide_window = true;
  Reset(windowed);
  EXPECT_EQ(Turn(queue::BatchResult()).campaigns_per_wake, 8u);
  // A storm of named campaigns fills the batch: claim again at once, naming
  // those decided (their rest may be below the window's mark) and those not
  // reached yet.
  std::vector<int64_t> storm;
  for (int64_t id = 1; id <= 1000; ++id) storm.push_back(id);
  policy_->Woken(storm);
  queue::BatchResult full = Decided({1, 2}, {5, 5});
  full.uncapped = true;
  full.notified_only = true;
  const Reaction reaction = Turn(full);
  EXPECT_EQ(last_.notified.size(), 1000u);
  EXPECT_EQ(reaction.next, Next::kClaim);
  EXPECT_TRUE(reaction.wake_another);
  const Claim next = policy_->NextClaim(kStart);
  EXPECT_EQ(next.kind, Kind::kNotified);
  EXPECT_EQ(next.notified, storm);
}

TEST_F(ClaimPolicyTest, ATransientErrorOnACampaignBacksItOffAndTheSleepEndsWithTheBackOff) {
  const Reaction reaction = Turn(Failed(Sqlstate(db::kSqlstateSerializationFailure), {6}));
  EXPECT_EQ(reaction.outcome, BatchOutcome::kNotCharged);
  EXPECT_EQ(reaction.next, Next::kClaim);
  EXPECT_EQ(policy_->BackingOff(kStart), std::vector<int64_t>{6});
  const Reaction idle = Turn(queue::BatchResult());
  EXPECT_EQ(last_.window.excluded_campaigns, std::vector<int64_t>{6});
  EXPECT_EQ(idle.next, Next::kSleep);
  EXPECT_GT(idle.wait, milliseconds(0));
  EXPECT_LE(idle.wait, milliseconds(10))
      << "the first back-off is at most campaign_backoff.initial";
  // A success ends it.
  Turn(Decided({6}, {1}), kStart + milliseconds(20));
  EXPECT_EQ(Turn(queue::BatchResult(), kStart + milliseconds(20)).wait, milliseconds(2000));
}

TEST_F(ClaimPolicyTest, ATransientErrorNoCampaignIsBlamedForPausesLongerEachTime) {
  for (int i = 0; i < 3; ++i) {
    const Reaction reaction = Turn(Failed(Sqlstate(db::kSqlstateDeadlockDetected)));
    EXPECT_EQ(reaction.next, Next::kPause);
    EXPECT_EQ(reaction.pause, milliseconds(10 * (i + 1)));
  }
  EXPECT_EQ(attempts_, (std::vector<int>{0, 1, 2}));
  Turn(queue::BatchResult());  // a success starts the count again
  EXPECT_EQ(Turn(Failed(Sqlstate(db::kSqlstateDeadlockDetected))).pause, milliseconds(10));
}

TEST_F(ClaimPolicyTest, ADatabaseFaultIsNotChargedButBacksTheCampaignOff) {
  const Reaction reaction = Turn(Failed(Sqlstate("53200"), {2}));  // out of memory
  EXPECT_EQ(reaction.outcome, BatchOutcome::kNotCharged);
  EXPECT_EQ(reaction.next, Next::kClaim);
  EXPECT_EQ(policy_->BackingOff(kStart), std::vector<int64_t>{2});
  EXPECT_EQ(policy_->suspect(), std::nullopt);
}

TEST_F(ClaimPolicyTest, ABatchThatTimesOutDecidingHalvesAndGrowsBackAfterARunOfSuccesses) {
  Turn(Failed(Sqlstate(db::kSqlstateQueryCanceled), {1}));
  EXPECT_EQ(policy_->batch_size(), 5);
  const Reaction again =
      Turn(Failed(Sqlstate(db::kSqlstateLockNotAvailable), {1}), kStart + std::chrono::seconds(1));
  EXPECT_EQ(again.shrunk_batch_size, 2) << "a capped campaign's lock_timeout deciding: its size";
  EXPECT_EQ(policy_->NextClaim(kStart).window.batch_size, 2);
  // Not about the size: the lock was never granted, or the uncapped
  // counter's own short lock_timeout.
  queue::BatchResult not_locked = Failed(Sqlstate(db::kSqlstateLockNotAvailable), {1});
  not_locked.campaign_locked = false;
  EXPECT_EQ(Turn(not_locked).shrunk_batch_size, 0);
  queue::BatchResult counter = Failed(Sqlstate(db::kSqlstateLockNotAvailable), {1});
  counter.uncapped = true;
  EXPECT_EQ(Turn(counter).shrunk_batch_size, 0);
  EXPECT_EQ(policy_->batch_size(), 2);
  std::vector<int> sizes;
  for (int i = 0; i < 48; ++i) {
    Turn(queue::BatchResult());
    if (i % 16 == 15) sizes.push_back(policy_->batch_size());
  }
  EXPECT_EQ(sizes, (std::vector<int>{4, 8, 10})) << "doubling each 16 successes, up to batch_size";
}

TEST_F(ClaimPolicyTest, ADeterministicErrorIsolatesOneCampaignThenItsHeadThenChargesIt) {
  Turn(Decided({1, 2}, {1, 1}));  // two campaigns per batch now
  const Reaction several = Turn(Failed(Sqlstate(db::kSqlstateCheckViolation), {1, 2}));
  EXPECT_EQ(several.outcome, BatchOutcome::kCharged);
  EXPECT_EQ(several.next, Next::kClaim);
  EXPECT_EQ(policy_->campaigns_per_batch(), 1) << "which campaign? one per batch";
  Turn(Failed(Sqlstate(db::kSqlstateCheckViolation), {2}));
  EXPECT_EQ(policy_->suspect(), 2);
  const Claim isolated = policy_->NextClaim(kStart);
  EXPECT_EQ(isolated.kind, Kind::kIsolatedHead);
  EXPECT_EQ(isolated.campaign_id, 2);
  EXPECT_EQ(isolated.window.batch_size, 1);
  queue::BatchResult head = Failed(Sqlstate(db::kSqlstateCheckViolation), {2});
  head.isolated_application = 77;
  const Reaction charge = policy_->Observe(isolated, head, true, kStart);
  EXPECT_EQ(charge.next, Next::kRecordFailure);
  EXPECT_EQ(charge.campaign_id, 2);
  EXPECT_EQ(charge.application_id, 77);
  policy_->FailureRecorded(true, kStart);
  EXPECT_EQ(policy_->NextClaim(kStart).kind, Kind::kIsolatedHead)
      << "its next attempt, or next head";
  // The head decided (or failed for good): back to the usual claim.
  Turn(Decided({2}, {1}));
  EXPECT_EQ(policy_->suspect(), std::nullopt);
  EXPECT_EQ(policy_->NextClaim(kStart).kind, Kind::kByWindow);
}

TEST_F(ClaimPolicyTest, AFailureThatCannotBeRecordedBacksTheCampaignOff) {
  Turn(Failed(Sqlstate(db::kSqlstateCheckViolation), {3}));
  queue::BatchResult head = Failed(Sqlstate(db::kSqlstateCheckViolation), {3});
  head.isolated_application = 30;
  EXPECT_EQ(Turn(head).next, Next::kRecordFailure);
  policy_->FailureRecorded(false, kStart);
  EXPECT_EQ(policy_->suspect(), std::nullopt);
  const Claim next = policy_->NextClaim(kStart);
  EXPECT_EQ(next.kind, Kind::kByWindow);
  EXPECT_EQ(next.window.excluded_campaigns, std::vector<int64_t>{3});
}

// A suspect whose isolated retry fails transiently, or for a fault of the
// database (internal error, out of memory), backs off like any campaign: not
// retried at once, in a loop that logs an error per turn.
TEST_F(ClaimPolicyTest, ASuspectThatFailsTransientlyWaitsForItsBackOff) {
  Turn(Failed(Sqlstate(db::kSqlstateCheckViolation), {3}));
  ASSERT_EQ(policy_->suspect(), 3);
  const Reaction fault = Turn(Failed(Sqlstate("XX000"), {3}));  // internal error
  EXPECT_EQ(last_.kind, Kind::kIsolatedHead);
  EXPECT_EQ(fault.outcome, BatchOutcome::kNotCharged);
  const Claim meanwhile = policy_->NextClaim(kStart);
  EXPECT_NE(meanwhile.kind, Kind::kIsolatedHead) << "retried at once, ignoring its back-off";
  EXPECT_EQ(meanwhile.window.excluded_campaigns, std::vector<int64_t>{3});
  // Other campaigns' work meanwhile does not forget it; once its back-off
  // is over, its head is isolated again.
  policy_->Observe(meanwhile, Decided({4}, {1}), true, kStart);
  const Claim after = policy_->NextClaim(kStart + milliseconds(401));
  EXPECT_EQ(after.kind, Kind::kIsolatedHead);
  EXPECT_EQ(after.campaign_id, 3);
}

TEST_F(ClaimPolicyTest, ALostConnectionOrAnUnknownCommitReconnects) {
  const Reaction lost = Turn(Failed(absl::UnavailableError("server closed the connection")));
  EXPECT_EQ(lost.outcome, BatchOutcome::kConnectionLost);
  EXPECT_EQ(lost.next, Next::kReconnect);
  const Reaction broken = Turn(Failed(Sqlstate(db::kSqlstateDeadlockDetected), {1}), kStart,
                               /*open=*/false);
  EXPECT_EQ(broken.next, Next::kReconnect) << "a broken connection is replaced whatever the status";
  const Reaction unknown = Turn(Failed(absl::UnknownError("connection lost during COMMIT")));
  EXPECT_EQ(unknown.outcome, BatchOutcome::kCommitUnknown);
  EXPECT_EQ(unknown.next, Next::kReconnect);
}

TEST_F(ClaimPolicyTest, ANewConnectionForgetsAllButTheBackOffs) {
  Turn(Failed(Sqlstate(db::kSqlstateQueryCanceled), {1}));   // batch size 5, 1 backs off
  Turn(Failed(Sqlstate(db::kSqlstateCheckViolation), {2}));  // 2 is the suspect
  policy_->Woken({9});
  policy_->Connected(kStart);
  EXPECT_EQ(policy_->batch_size(), 10);
  EXPECT_EQ(policy_->suspect(), std::nullopt);
  const Claim claim = policy_->NextClaim(kStart);
  EXPECT_EQ(claim.kind, Kind::kByWindow) << "the wake-up was for the old connection's turn";
  EXPECT_EQ(claim.window.max_campaigns, 1);
  EXPECT_EQ(claim.window.excluded_campaigns, std::vector<int64_t>{1});
}

TEST_F(ClaimPolicyTest, ReconnectsBackOffLongerEachFailureUntilOneSucceeds) {
  for (int i = 0; i < 4; ++i) policy_->ConnectFailed();
  policy_->Connected(kStart);
  policy_->ConnectFailed();
  EXPECT_EQ(attempts_, (std::vector<int>{0, 1, 2, 3, 0}));
}

TEST(ClaimPolicyJitterTest, ReconnectDelaysGrowToTheCapAndNeverPassIt) {
  ClaimPolicyOptions options;
  options.reconnect_backoff = {milliseconds(100), milliseconds(5000)};
  ClaimPolicy policy(options);  // the real jitter: half to full of the doubling delay
  EXPECT_LE(policy.ConnectFailed(), milliseconds(100));
  for (int i = 1; i < 30; ++i) {
    const milliseconds delay = policy.ConnectFailed();
    EXPECT_LE(delay, milliseconds(5000)) << "retry " << i;
    if (i >= 6) {
      EXPECT_GE(delay, milliseconds(2500)) << "retry " << i << ": at the cap";
    }
  }
}

// An expiry batch's result: `expired` holds, the earliest left `next_ms`
// from now (nullopt: none left).
queue::BatchResult Expired(int expired, std::optional<int64_t> next_ms) {
  queue::BatchResult result;
  for (int n = 0; n < expired; ++n) result.expired.push_back({n + 1, 7, 1000});
  if (next_ms.has_value()) result.next_expiry_micros = *next_ms * 1000;
  return result;
}

TEST_F(ClaimPolicyTest, TheExpiryThreadExpiresFirstAndSleepsUntilTheNextExpiry) {
  ClaimPolicyOptions expiring;
  expiring.expire_holds = true;
  Reset(expiring);
  policy_->Woken({4});
  // A new connection: due holds first, before the wake-up's campaigns.
  Reaction reaction = Turn(Expired(3, 300));
  EXPECT_EQ(last_.kind, Kind::kExpireHolds);
  EXPECT_EQ(last_.window.batch_size, 10);
  EXPECT_EQ(reaction.outcome, BatchOutcome::kExpired);
  EXPECT_EQ(reaction.next, Next::kClaim);
  // Then the usual claim, the wake-up kept; idle, it sleeps until the next
  // expiry, not for the poll interval.
  queue::BatchResult idle;
  idle.notified_only = true;
  reaction = Turn(idle, kStart + milliseconds(20));
  EXPECT_EQ(last_.kind, Kind::kNotified);
  EXPECT_EQ(last_.notified, std::vector<int64_t>{4});
  EXPECT_EQ(reaction.next, Next::kSleep);
  EXPECT_EQ(reaction.wait, milliseconds(280));
  EXPECT_EQ(policy_->NextClaim(kStart + milliseconds(299)).kind, Kind::kByWindow);
  // At the expiry: a full batch expires again at once.
  EXPECT_EQ(Turn(Expired(10, -5), kStart + milliseconds(300)).outcome, BatchOutcome::kExpired);
  EXPECT_EQ(last_.kind, Kind::kExpireHolds);
  EXPECT_EQ(policy_->NextClaim(kStart + milliseconds(300)).kind, Kind::kExpireHolds);
}

TEST_F(ClaimPolicyTest, DueHoldsOfAHeldCampaignAndDistantOnesAreProbedNotPolled) {
  ClaimPolicyOptions expiring;
  expiring.expire_holds = true;
  Reset(expiring);
  // Due, but another transaction holds their campaign: not in a loop, but
  // after held_retry.
  EXPECT_EQ(Turn(Expired(0, -5)).outcome, BatchOutcome::kNothing);
  EXPECT_EQ(policy_->NextClaim(kStart + milliseconds(99)).kind, Kind::kByWindow);
  EXPECT_EQ(policy_->NextClaim(kStart + milliseconds(100)).kind, Kind::kExpireHolds);
  // The earliest hold a minute away, or none: probed again after hold_probe
  // all the same (holds made by other processes are seen only so).
  const Clock::time_point later = kStart + milliseconds(100);
  Turn(Expired(0, 60'000), later);
  EXPECT_EQ(last_.kind, Kind::kExpireHolds);
  EXPECT_EQ(Turn(queue::BatchResult(), later).wait, milliseconds(500));
  const Clock::time_point then = later + milliseconds(500);
  Turn(Expired(0, std::nullopt), then);
  EXPECT_EQ(last_.kind, Kind::kExpireHolds);
  EXPECT_EQ(Turn(queue::BatchResult(), then).wait, milliseconds(500));
}

TEST_F(ClaimPolicyTest, OnlyTheExpiryThreadExpiresAndAFailedExpiryBacksOff) {
  // Not this thread: never an expiry, nor a sleep cut short for one.
  EXPECT_EQ(policy_->NextClaim(kStart).kind, Kind::kByWindow);
  EXPECT_EQ(Turn(queue::BatchResult()).wait, milliseconds(2000));
  ClaimPolicyOptions expiring;
  expiring.expire_holds = true;
  Reset(expiring);
  // A transient error: nobody charged, the thread decides meanwhile, and
  // the expiry is retried after the jittered back-off (10 ms, then 20).
  Reaction reaction = Turn(Failed(Sqlstate("40001")));
  EXPECT_EQ(last_.kind, Kind::kExpireHolds);
  EXPECT_EQ(reaction.outcome, BatchOutcome::kNotCharged);
  EXPECT_EQ(reaction.next, Next::kClaim);
  EXPECT_EQ(policy_->NextClaim(kStart + milliseconds(9)).kind, Kind::kByWindow);
  Turn(Failed(Sqlstate("40001")), kStart + milliseconds(10));
  EXPECT_EQ(last_.kind, Kind::kExpireHolds);
  EXPECT_EQ(policy_->NextClaim(kStart + milliseconds(29)).kind, Kind::kByWindow);
  EXPECT_EQ(attempts_, (std::vector<int>{0, 1}));
  // A lost connection reconnects, and the new one expires at once.
  EXPECT_EQ(Turn(Failed(Sqlstate("08006")), kStart + milliseconds(30)).next, Next::kReconnect);
  EXPECT_EQ(last_.kind, Kind::kExpireHolds);
  policy_->Connected(kStart + milliseconds(40));
  EXPECT_EQ(policy_->NextClaim(kStart + milliseconds(40)).kind, Kind::kExpireHolds);
}

TEST_F(ClaimPolicyTest, CachedPlansAreDroppedEveryFiveSeconds) {
  EXPECT_FALSE(policy_->PlansDue(kStart + milliseconds(4999)));
  EXPECT_TRUE(policy_->PlansDue(kStart + milliseconds(5000)));
  EXPECT_FALSE(policy_->PlansDue(kStart + milliseconds(9999)));
  EXPECT_TRUE(policy_->PlansDue(kStart + milliseconds(10000)));
}

}  // namespace
}  // namespace campaignq::worker
