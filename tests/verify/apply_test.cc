// The kit's Apply-with-retry and storm against the client tests' in-memory
// fake service (client/fake_campaignq.h): no database needed for what the
// client side does.

#include "common/verify/apply.h"

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "client/fake_campaignq.h"
#include "common/verify/storm.h"
#include "gtest/gtest.h"

namespace campaignq::verify {
namespace {

using client::testing::FakeBehaviour;
using client::testing::FakeServer;

std::unique_ptr<v1::CampaignQueue::Stub> StubTo(const std::string& address) {
  return v1::CampaignQueue::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
}

int64_t CreateCampaign(v1::CampaignQueue::Stub& stub) {
  grpc::ClientContext context;
  v1::CreateCampaignRequest request;
  request.set_name("c");
  request.set_max_participants(2);
  v1::Campaign campaign;
  EXPECT_TRUE(stub.CreateCampaign(&context, request, &campaign).ok());
  return campaign.id();
}

RetryPolicy RetryFor(std::chrono::seconds window) {
  RetryPolicy policy;
  policy.give_up = std::chrono::steady_clock::now() + window;
  policy.rpc_timeout = std::chrono::seconds(5);
  policy.backoff = {std::chrono::milliseconds(1), std::chrono::milliseconds(10)};
  return policy;
}

TEST(IsRetryableCode, RetriesOnlyTransientCodes) {
  for (auto code : {grpc::StatusCode::UNAVAILABLE, grpc::StatusCode::DEADLINE_EXCEEDED,
                    grpc::StatusCode::ABORTED, grpc::StatusCode::RESOURCE_EXHAUSTED,
                    grpc::StatusCode::CANCELLED, grpc::StatusCode::UNKNOWN}) {
    EXPECT_TRUE(IsRetryableCode(code)) << code;
  }
  for (auto code : {grpc::StatusCode::OK, grpc::StatusCode::NOT_FOUND,
                    grpc::StatusCode::ALREADY_EXISTS, grpc::StatusCode::INVALID_ARGUMENT,
                    grpc::StatusCode::FAILED_PRECONDITION, grpc::StatusCode::INTERNAL}) {
    EXPECT_FALSE(IsRetryableCode(code)) << code;
  }
}

TEST(OwnApplicationIdFromAlreadyExists, ParsesTheServicesMessageForItsOwnUserOnly) {
  const std::string message =
      "user 'ann' already applied to campaign 7: application 42 is approved";
  EXPECT_EQ(OwnApplicationIdFromAlreadyExists(message, 7, "ann"), 42);
  EXPECT_EQ(OwnApplicationIdFromAlreadyExists(message, 8, "ann"), std::nullopt);
  EXPECT_EQ(OwnApplicationIdFromAlreadyExists(message, 7, "bob"), std::nullopt);
  EXPECT_EQ(OwnApplicationIdFromAlreadyExists(message, 7, "an"), std::nullopt);
  EXPECT_EQ(OwnApplicationIdFromAlreadyExists("applied", 7, "ann"), std::nullopt);
  EXPECT_EQ(
      OwnApplicationIdFromAlreadyExists(
          "user 'it's: me' already applied to campaign 1: application 3 is pending", 1, "it's: me"),
      3);
}

TEST(ApplyWithRetry, OkIsAcknowledgedWithItsId) {
  FakeServer server;
  auto stub = StubTo(server.address());
  ApplyRecord record;
  record.campaign_id = CreateCampaign(*stub);
  record.user_id = "u";
  absl::BitGen random;
  ApplyWithRetry(*stub, RetryFor(std::chrono::seconds(5)), random, &record);
  EXPECT_TRUE(record.acknowledged);
  EXPECT_EQ(record.application_id, 1);
  EXPECT_EQ(record.attempts, 1);
  EXPECT_LE(record.first_send, record.reply);
}

// The server committed the first attempt but its reply was lost: the retry
// learns the id from ALREADY_EXISTS, and the Apply counts as acknowledged.
TEST(ApplyWithRetry, LostReplyIsRetriedAndAlreadyExistsNamingOursAcknowledges) {
  FakeBehaviour behaviour;
  behaviour.lose_first_reply = true;
  FakeServer server(behaviour);
  auto stub = StubTo(server.address());
  ApplyRecord record;
  record.campaign_id = CreateCampaign(*stub);
  record.user_id = "u";
  absl::BitGen random;
  ApplyWithRetry(*stub, RetryFor(std::chrono::seconds(5)), random, &record);
  EXPECT_TRUE(record.acknowledged);
  EXPECT_EQ(record.application_id, 1);
  EXPECT_EQ(record.attempts, 2);
  EXPECT_EQ(record.last_code, grpc::StatusCode::ALREADY_EXISTS);
}

// Even on the first attempt (an earlier process's attempt had landed).
TEST(ApplyWithRetry, AlreadyExistsOnTheFirstAttemptAcknowledges) {
  FakeServer server;
  auto stub = StubTo(server.address());
  ApplyRecord first, again;
  first.campaign_id = again.campaign_id = CreateCampaign(*stub);
  first.user_id = again.user_id = "u";
  absl::BitGen random;
  ApplyWithRetry(*stub, RetryFor(std::chrono::seconds(5)), random, &first);
  ApplyWithRetry(*stub, RetryFor(std::chrono::seconds(5)), random, &again);
  EXPECT_TRUE(again.acknowledged);
  EXPECT_EQ(again.attempts, 1);
  EXPECT_EQ(again.application_id, first.application_id);
}

TEST(ApplyWithRetry, NonRetryableCodeEndsAtOnce) {
  FakeServer server;
  auto stub = StubTo(server.address());
  ApplyRecord record;
  record.campaign_id = 999;  // NOT_FOUND
  record.user_id = "u";
  absl::BitGen random;
  ApplyWithRetry(*stub, RetryFor(std::chrono::seconds(5)), random, &record);
  EXPECT_FALSE(record.acknowledged);
  EXPECT_EQ(record.attempts, 1);
  EXPECT_EQ(record.last_code, grpc::StatusCode::NOT_FOUND);
}

TEST(ApplyWithRetry, UnreachableServerIsRetriedUntilGiveUp) {
  auto stub = StubTo("127.0.0.1:1");
  ApplyRecord record;
  record.campaign_id = 1;
  record.user_id = "u";
  absl::BitGen random;
  RetryPolicy policy = RetryFor(std::chrono::seconds(1));
  ApplyWithRetry(*stub, policy, random, &record);
  EXPECT_FALSE(record.acknowledged);
  EXPECT_GT(record.attempts, 1);
  EXPECT_EQ(record.last_code, grpc::StatusCode::UNAVAILABLE);
  EXPECT_LE(record.reply, policy.give_up + policy.rpc_timeout);
}

TEST(RunStorm, EveryRecordAppliedOnceAndCounted) {
  FakeBehaviour behaviour;
  behaviour.lose_first_reply = true;
  FakeServer server(behaviour);
  auto stub = StubTo(server.address());
  const int64_t campaign = CreateCampaign(*stub);
  std::vector<ApplyRecord> records(40);
  for (size_t i = 0; i < records.size(); ++i) {
    records[i].campaign_id = campaign;
    records[i].user_id = "u" + std::to_string(i);
  }
  StormCounters counters;
  StormOptions options;
  options.threads = 4;
  options.new_stub = [&](int) { return StubTo(server.address()); };
  options.retry = RetryFor(std::chrono::seconds(10));
  options.counters = &counters;
  RunStorm(records, options);
  EXPECT_EQ(counters.sent.load(), 40);
  EXPECT_EQ(counters.acknowledged.load(), 40);
  std::set<int64_t> ids;
  for (const ApplyRecord& r : records) ids.insert(r.application_id);
  EXPECT_EQ(ids.size(), 40u);
  EXPECT_EQ(ids.count(0), 0u);
}

// `n` applications of a fresh campaign, every one held (the fake never
// decides or expires one by itself).
std::vector<int64_t> HeldApplications(FakeServer& server, v1::CampaignQueue::Stub& stub, int n,
                                      int64_t* campaign) {
  *campaign = CreateCampaign(stub);
  std::vector<int64_t> ids;
  for (int i = 0; i < n; ++i) {
    grpc::ClientContext context;
    v1::ApplyRequest request;
    request.set_campaign_id(*campaign);
    request.set_user_id("h" + std::to_string(i));
    v1::Application a;
    EXPECT_TRUE(stub.Apply(&context, request, &a).ok());
    server.service().SetStatus(a.id(), v1::APPLICATION_STATUS_HELD);
    ids.push_back(a.id());
  }
  return ids;
}

StormOptions HoldingStorm(FakeServer& server, int64_t campaign, double confirm, double release,
                          StormCounters* counters) {
  StormOptions options;
  options.threads = 2;
  options.new_stub = [&server](int) { return StubTo(server.address()); };
  options.retry = RetryFor(std::chrono::seconds(10));
  options.counters = counters;
  options.holds.campaign_ids = {campaign};
  options.holds.hold_duration = std::chrono::milliseconds(50);
  options.holds.confirm_fraction = confirm;
  options.holds.release_fraction = release;
  options.holds.give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  return options;
}

// Every hold seen once, each confirmed or released by its holder; then
// nothing is held and the storm settles.
TEST(RunStorm, HoldersConfirmOrReleaseEveryHoldOnceThenSettle) {
  FakeServer server;
  auto stub = StubTo(server.address());
  int64_t campaign = 0;
  const std::vector<int64_t> ids = HeldApplications(server, *stub, 30, &campaign);
  StormCounters counters;
  std::vector<ApplyRecord> none;
  const StormResult result = RunStorm(none, HoldingStorm(server, campaign, 0.5, 0.5, &counters));
  EXPECT_TRUE(result.holds_settled);
  ASSERT_EQ(result.holds.size(), ids.size());
  std::set<int64_t> seen;
  for (const HoldRecord& h : result.holds) {
    seen.insert(h.application_id);
    EXPECT_TRUE(h.done) << h.application_id;
    EXPECT_NE(h.choice, HoldChoice::kExpire);
  }
  EXPECT_EQ(seen, std::set<int64_t>(ids.begin(), ids.end()));
  EXPECT_EQ(counters.held.load(), 30);
  EXPECT_EQ(counters.confirmed.load() + counters.released.load(), 30);
}

// Holders who let every hold expire send nothing; with no worker to expire
// them (the fake), the storm gives up at its deadline, unsettled.
TEST(RunStorm, HoldsLeftToExpireAreNeverTouchedAndUnendedHoldsAreNotSettled) {
  FakeServer server;
  auto stub = StubTo(server.address());
  int64_t campaign = 0;
  HeldApplications(server, *stub, 5, &campaign);
  StormCounters counters;
  StormOptions options = HoldingStorm(server, campaign, 0, 0, &counters);
  options.holds.give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
  std::vector<ApplyRecord> none;
  const StormResult result = RunStorm(none, options);
  EXPECT_FALSE(result.holds_settled);
  ASSERT_EQ(result.holds.size(), 5u);
  for (const HoldRecord& h : result.holds) {
    EXPECT_EQ(h.choice, HoldChoice::kExpire);
    EXPECT_EQ(h.attempts, 0);
  }
}

}  // namespace
}  // namespace campaignq::verify
