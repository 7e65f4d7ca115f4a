// The Apply queue's decisions (common/store/apply_queue.h): shares per
// caller, copies joined to their twin, deadlines; no database.

#include "common/store/apply_queue.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "common/status_details.h"
#include "gtest/gtest.h"

namespace campaignq::store {
namespace {

using absl::StatusCode;

const absl::Time kNow = absl::FromUnixSeconds(1'000'000);
const absl::Status kExceeded = absl::DeadlineExceededError("deadline passed");

std::unique_ptr<QueuedApply> MakeApply(int64_t campaign_id, const std::string& user_id,
                                       const std::string& caller = "a",
                                       absl::Time deadline = absl::InfiniteFuture()) {
  auto apply = std::make_unique<QueuedApply>();
  apply->campaign_id = campaign_id;
  apply->user_id = user_id;
  apply->caller = caller;
  apply->deadline = deadline;
  return apply;
}

absl::Status Admit(ApplyQueue& queue, std::unique_ptr<QueuedApply> apply) {
  return queue.Admit(apply);
}

std::vector<std::string> Users(const ApplyBatch& batch) {
  std::vector<std::string> users;
  for (const auto& apply : batch) users.push_back(apply->user_id);
  return users;
}

v1::Application Stored(int64_t id) {
  v1::Application application;
  application.set_id(id);
  application.set_status(v1::APPLICATION_STATUS_PENDING);
  return application;
}

TEST(CallerShareTest, LeavesRoomForOneMoreCaller) {
  EXPECT_EQ(CallerShare(10000, 1), 5000);
  EXPECT_EQ(CallerShare(10000, 2), 3333);
  EXPECT_EQ(CallerShare(10000, 9), 1000);
  EXPECT_EQ(CallerShare(8, 1), 4);
  EXPECT_EQ(CallerShare(1, 1), 1);  // never 0: a lone caller always gets in
  EXPECT_EQ(CallerShare(1, 5), 1);
}

TEST(ApplyQueueTest, ACallerPastItsShareIsRefusedAndAnotherStillGetsIn) {
  ApplyQueue queue(8);
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(Admit(queue, MakeApply(1, "u" + std::to_string(i), "flood")).ok());
  }
  std::unique_ptr<QueuedApply> over = MakeApply(1, "u4", "flood");
  const absl::Status refused = queue.Admit(over);
  EXPECT_EQ(refused.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrorReason(refused), "APPLY_QUEUE_SHARE");
  EXPECT_TRUE(absl::StrContains(refused.message(), "this caller has 4 Applies waiting")) << refused;
  EXPECT_TRUE(absl::StrContains(refused.message(), "retry once some of them are answered"))
      << refused;
  ASSERT_NE(over, nullptr) << "a refused Apply stays with the caller, to be answered";
  EXPECT_EQ(queue.size(), 4);

  // With two callers waiting, each may have 8 / 3 = 2.
  EXPECT_TRUE(Admit(queue, MakeApply(1, "v0", "other")).ok());
  EXPECT_TRUE(Admit(queue, MakeApply(1, "v1", "other")).ok());
  EXPECT_EQ(Admit(queue, MakeApply(1, "v2", "other")).code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(queue.size(), 6);
}

TEST(ApplyQueueTest, AFullQueueRefusesEveryone) {
  ApplyQueue queue(2);
  ASSERT_TRUE(Admit(queue, MakeApply(1, "x", "a")).ok());
  ASSERT_TRUE(Admit(queue, MakeApply(1, "y", "b")).ok());
  const absl::Status full = Admit(queue, MakeApply(1, "z", "c"));
  EXPECT_EQ(full.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrorReason(full), "APPLY_QUEUE_FULL");
  EXPECT_TRUE(absl::StrContains(full.message(), "retry in a moment")) << full;
}

TEST(ApplyQueueTest, ACallerGetsInAgainOnceItsAppliesAreTaken) {
  ApplyQueue queue(4);
  ASSERT_TRUE(Admit(queue, MakeApply(1, "x", "a")).ok());
  ASSERT_TRUE(Admit(queue, MakeApply(1, "y", "a")).ok());
  EXPECT_FALSE(Admit(queue, MakeApply(1, "z", "a")).ok());
  EXPECT_EQ(queue.TakeBatch(1).size(), 1u);
  EXPECT_TRUE(Admit(queue, MakeApply(1, "z", "a")).ok());
}

TEST(ApplyQueueTest, CopiesJoinTheirQueuedTwinAndCountAgainstTheShare) {
  ApplyQueue queue(8);
  ASSERT_TRUE(Admit(queue, MakeApply(1, "u", "flood")).ok());
  ASSERT_TRUE(Admit(queue, MakeApply(2, "u", "flood")).ok());  // another campaign
  ASSERT_TRUE(Admit(queue, MakeApply(1, "u", "flood")).ok());
  ASSERT_TRUE(Admit(queue, MakeApply(1, "u", "flood")).ok());
  EXPECT_EQ(Admit(queue, MakeApply(1, "u", "flood")).code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(queue.size(), 4);
  const ApplyBatch batch = queue.TakeBatch(256);
  ASSERT_EQ(batch.size(), 2u);  // one write per (campaign, user)
  EXPECT_EQ(batch[0]->campaign_id, 1);
  EXPECT_EQ(batch[0]->twins.size(), 2u);
  EXPECT_EQ(batch[1]->campaign_id, 2);
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.size(), 0);
  // Taken, its key is free: a new copy is queued on its own (it will see
  // the row the batch writes).
  ASSERT_TRUE(Admit(queue, MakeApply(1, "u", "flood")).ok());
  EXPECT_EQ(queue.TakeBatch(256)[0]->twins.size(), 0u);
}

TEST(ApplyQueueTest, TakeBatchTakesInArrivalOrderUpToItsSize) {
  ApplyQueue queue(100);
  for (const char* user : {"a", "b", "c"}) ASSERT_TRUE(Admit(queue, MakeApply(1, user)).ok());
  EXPECT_EQ(Users(queue.TakeBatch(2)), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(Users(queue.TakeBatch(0)), (std::vector<std::string>{"c"}));  // at least 1
}

TEST(ApplyQueueTest, AnExpiredApplyHandsItsPlaceToItsOldestTwinInTime) {
  ApplyQueue queue(100);
  ASSERT_TRUE(Admit(queue, MakeApply(1, "x", "a", kNow + absl::Seconds(10))).ok());
  ASSERT_TRUE(Admit(queue, MakeApply(1, "u", "a", kNow + absl::Seconds(1))).ok());
  ASSERT_TRUE(Admit(queue, MakeApply(1, "u", "b", kNow + absl::Milliseconds(500))).ok());
  ASSERT_TRUE(Admit(queue, MakeApply(1, "u", "c", kNow + absl::Seconds(5))).ok());
  ASSERT_TRUE(Admit(queue, MakeApply(1, "u", "d", kNow + absl::Seconds(9))).ok());
  ASSERT_TRUE(Admit(queue, MakeApply(1, "y", "a")).ok());
  EXPECT_EQ(queue.EarliestDeadline(), kNow + absl::Milliseconds(500));  // a twin's

  ApplyBatch expired;
  queue.TakeExpired(kNow + absl::Seconds(2), kExceeded, &expired);
  ASSERT_EQ(expired.size(), 2u);
  for (const auto& apply : expired) {
    EXPECT_EQ(apply->user_id, "u");
    EXPECT_EQ(apply->result.status().code(), StatusCode::kDeadlineExceeded);
  }
  EXPECT_EQ(queue.size(), 4);
  EXPECT_EQ(queue.EarliestDeadline(), kNow + absl::Seconds(5));
  const ApplyBatch batch = queue.TakeBatch(256);
  EXPECT_EQ(Users(batch), (std::vector<std::string>{"x", "u", "y"}));
  EXPECT_EQ(batch[1]->caller, "c");  // the oldest twin in time, in the place of "a"'s
  ASSERT_EQ(batch[1]->twins.size(), 1u);
  EXPECT_EQ(batch[1]->twins[0]->caller, "d");
}

TEST(ApplyQueueTest, AnExpiredApplyWithoutTwinsFreesItsKeyAndItsShare) {
  ApplyQueue queue(2);
  ASSERT_TRUE(Admit(queue, MakeApply(1, "u", "a", kNow + absl::Seconds(1))).ok());
  EXPECT_FALSE(Admit(queue, MakeApply(1, "v", "a")).ok());  // share 1
  ApplyBatch expired;
  queue.TakeExpired(kNow + absl::Seconds(1), kExceeded, &expired);  // at its deadline
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_TRUE(queue.empty());
  ASSERT_TRUE(Admit(queue, MakeApply(1, "u", "a")).ok());
  EXPECT_EQ(queue.TakeBatch(256)[0]->twins.size(), 0u);  // not a twin of the expired one
}

TEST(ApplyQueueTest, PutBackGoesToTheFrontOrJoinsTheCopyQueuedMeanwhile) {
  ApplyQueue queue(100);
  ASSERT_TRUE(Admit(queue, MakeApply(1, "x")).ok());
  auto heir = MakeApply(1, "u", "h");
  heir->twins.push_back(MakeApply(1, "u", "h2"));
  queue.PutBack(std::move(heir));
  EXPECT_EQ(queue.size(), 3);
  EXPECT_EQ(Users(queue.TakeBatch(256)), (std::vector<std::string>{"u", "x"}));

  ASSERT_TRUE(Admit(queue, MakeApply(1, "u", "new")).ok());
  heir = MakeApply(1, "u", "h");
  heir->twins.push_back(MakeApply(1, "u", "h2"));
  queue.PutBack(std::move(heir));
  const ApplyBatch batch = queue.TakeBatch(256);
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(batch[0]->caller, "new");
  ASSERT_EQ(batch[0]->twins.size(), 2u);
  EXPECT_EQ(batch[0]->twins[0]->caller, "h");
  EXPECT_EQ(batch[0]->twins[1]->caller, "h2");
  EXPECT_TRUE(batch[0]->twins[0]->twins.empty());
}

TEST(ApplyQueueTest, ABatchIsBoundByTheEarliestDeadlineOfItsApplies) {
  ApplyBatch batch;
  batch.push_back(MakeApply(1, "a", "a", kNow + absl::Seconds(30)));
  batch.push_back(MakeApply(1, "b", "a", kNow + absl::Seconds(1)));
  batch.push_back(MakeApply(1, "c"));
  batch[2]->twins.push_back(MakeApply(1, "c", "a", kNow + absl::Milliseconds(1)));
  EXPECT_EQ(BatchDeadline(batch), kNow + absl::Seconds(1));  // twins do not bound it
  EXPECT_EQ(BatchDeadline(ApplyBatch()), absl::InfiniteFuture());
}

TEST(ApplyQueueTest, SplitAtDeadlineAnswersThoseOutOfTimeAndKeepsTheRest) {
  const absl::Time bound = kNow + absl::Seconds(1);
  ApplyBatch batch;
  batch.push_back(MakeApply(1, "a", "a", bound));
  batch.push_back(MakeApply(1, "b", "a", kNow + absl::Seconds(30)));
  batch.push_back(MakeApply(1, "c", "a", kNow + absl::Milliseconds(500)));
  batch.push_back(MakeApply(1, "d", "a", bound));
  batch[3]->twins.push_back(MakeApply(1, "d", "twin", kNow + absl::Seconds(20)));
  ApplyBatch answered;
  // The timer may fire a moment before the deadline: the Applies at the
  // bound leave all the same, so that the rewrite makes progress.
  SplitAtDeadline(batch, bound, bound - absl::Milliseconds(5), kExceeded, &answered);
  EXPECT_EQ(Users(answered), (std::vector<std::string>{"a", "c", "d"}));
  for (const auto& apply : answered) {
    EXPECT_EQ(apply->result.status().code(), StatusCode::kDeadlineExceeded);
  }
  ASSERT_EQ(Users(batch), (std::vector<std::string>{"b", "d"}));
  EXPECT_EQ(batch[1]->caller, "twin");  // written itself, in its twin's place
  EXPECT_EQ(BatchDeadline(batch), kNow + absl::Seconds(20));
}

TEST(ApplyQueueTest, TwinsOfAStoredApplyAreToldItExists) {
  QueuedApply leader;
  leader.campaign_id = 7;
  leader.user_id = "u";
  leader.result = Stored(42);
  leader.twins.push_back(MakeApply(7, "u", "a", kNow - absl::Seconds(1)));  // out of time too
  leader.twins.push_back(MakeApply(7, "u"));
  ApplyBatch answered;
  EXPECT_EQ(SettleTwins(leader, kNow, kExceeded, &answered), nullptr);
  ASSERT_EQ(answered.size(), 2u);
  for (const auto& twin : answered) {
    EXPECT_EQ(twin->result.status().code(), StatusCode::kAlreadyExists);
    EXPECT_EQ(twin->result.status().message(),
              "user 'u' already applied to campaign 7: application 42 is pending");
    EXPECT_EQ(ErrorReason(twin->result.status()), "ALREADY_APPLIED");
    EXPECT_EQ(ErrorMetadata(twin->result.status())["application_id"], "42");
  }
  EXPECT_TRUE(leader.twins.empty());
}

TEST(ApplyQueueTest, TwinsShareAnOutcomeThatIsAboutThemToo) {
  for (const absl::Status& outcome : {absl::NotFoundError("campaign 7 does not exist"),
                                      absl::FailedPreconditionError("campaign 7 is closed"),
                                      absl::AlreadyExistsError("user 'u' already applied"),
                                      absl::UnavailableError("the database is unreachable")}) {
    QueuedApply leader;
    leader.campaign_id = 7;
    leader.user_id = "u";
    leader.result = outcome;
    leader.twins.push_back(MakeApply(7, "u"));
    ApplyBatch answered;
    EXPECT_EQ(SettleTwins(leader, kNow, kExceeded, &answered), nullptr);
    ASSERT_EQ(answered.size(), 1u);
    EXPECT_EQ(answered[0]->result.status(), outcome);
  }
}

TEST(ApplyQueueTest, AnOutcomeThatSaysNothingAboutTheTwinsLeavesAnHeirToBeWritten) {
  for (const absl::Status& outcome :
       {kExceeded, absl::UnknownError("the connection was lost during COMMIT")}) {
    QueuedApply leader;
    leader.campaign_id = 7;
    leader.user_id = "u";
    leader.result = outcome;
    leader.twins.push_back(MakeApply(7, "u", "late", kNow));
    leader.twins.push_back(MakeApply(7, "u", "heir", kNow + absl::Seconds(3)));
    leader.twins.push_back(MakeApply(7, "u", "young"));
    ApplyBatch answered;
    std::unique_ptr<QueuedApply> heir = SettleTwins(leader, kNow, kExceeded, &answered);
    ASSERT_NE(heir, nullptr) << outcome;
    EXPECT_EQ(heir->caller, "heir");
    ASSERT_EQ(heir->twins.size(), 1u);
    EXPECT_EQ(heir->twins[0]->caller, "young");
    ASSERT_EQ(answered.size(), 1u);  // out of time: its own deadline, not a write
    EXPECT_EQ(answered[0]->caller, "late");
    EXPECT_EQ(answered[0]->result.status().code(), StatusCode::kDeadlineExceeded);
    EXPECT_TRUE(leader.twins.empty());
  }
}

TEST(ApplyQueueTest, TwinOutcome) {
  EXPECT_FALSE(TwinOutcome(1, "u", kExceeded).has_value());
  EXPECT_FALSE(TwinOutcome(1, "u", absl::UnknownError("lost")).has_value());
  const auto stored = TwinOutcome(1, "u", Stored(5));
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->status().code(), StatusCode::kAlreadyExists);
  const auto closed = TwinOutcome(1, "u", absl::FailedPreconditionError("closed"));
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->status().code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace campaignq::store
