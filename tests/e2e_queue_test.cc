// End to end: the real server and many real worker processes against a real
// PostgreSQL, with concurrent Applies over gRPC. Every assertion on exact
// numbers is an invariant; counts that depend on timing are only reported.

#include <signal.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <iostream>
#include <pqxx/pqxx>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "support/binaries.h"
#include "support/poll.h"
#include "support/stack.h"
#include "support/storm.h"

namespace campaignq::testing {
namespace {

using std::chrono::seconds;

constexpr auto kDecideTimeout = seconds(180);

int64_t CreateCampaign(v1::CampaignQueue::Stub& stub, const std::string& name, int cap,
                       bool waitlist = true) {
  grpc::ClientContext context;
  v1::CreateCampaignRequest request;
  request.set_name(name);
  if (cap > 0) request.set_max_participants(cap);
  request.set_waitlist(waitlist);
  v1::Campaign campaign;
  const grpc::Status status = stub.CreateCampaign(&context, request, &campaign);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return campaign.id();
}

// The guide's own test, as it stands: 20 concurrent applicants, cap 10.
TEST(EndToEnd, GuideTwentyApplicantsCapTen) {
  Stack stack("guide");
  stack.StartServer();
  InstallDecisionAudit(stack);
  for (int i = 0; i < 4; ++i) stack.StartWorker();
  auto stub = stack.NewStub();
  const int64_t campaign = CreateCampaign(*stub, "guide", 10);
  auto records = Applicants({campaign}, 20);
  RunApplyStorm(stack, records, 20, Deadline(seconds(60)));
  ASSERT_TRUE(WaitUntilDecided(stack, records, Deadline(kDecideTimeout)));
  const verify::Verdict verdict = VerifyStorm(stack, records);
  ExpectAllHold(verdict);
  ExpectAllAcknowledged(records);
  EXPECT_EQ(verdict.Campaign(campaign).approved, 10);
  stack.StopWorkers();
  stack.StopServer();
}

// 4 worker processes x 4 threads, 20 campaigns with caps of 100, 4,000
// concurrent Applies over gRPC, in each lock mode.
class StormByLockMode : public ::testing::TestWithParam<std::string> {};

TEST_P(StormByLockMode, ExactlyCapApprovedEachDecidedOnceInArrivalOrder) {
  Stack stack(absl::StrCat("storm_", GetParam() == "skip-locked" ? "skip" : GetParam()));
  stack.StartServer();
  InstallDecisionAudit(stack);
  auto stub = stack.NewStub();
  std::vector<int64_t> campaigns;
  for (int i = 0; i < 20; ++i) {
    // Half keep a waitlist, half reject when full: both paths under load.
    campaigns.push_back(CreateCampaign(*stub, absl::StrCat("storm-", i), 100, i % 2 == 0));
  }
  for (int i = 0; i < 4; ++i) stack.StartWorker({GetParam(), 4, 25});
  auto records = Applicants(campaigns, 4000);
  RunApplyStorm(stack, records, 64, Deadline(seconds(120)));
  ASSERT_TRUE(WaitUntilDecided(stack, records, Deadline(kDecideTimeout)));
  const verify::Verdict verdict = VerifyStorm(stack, records);
  ExpectAllHold(verdict);
  ExpectAllAcknowledged(records);
  for (int64_t campaign : campaigns) EXPECT_EQ(verdict.Campaign(campaign).approved, 100);
  stack.StopWorkers();
  stack.StopServer();
}

INSTANTIATE_TEST_SUITE_P(LockModes, StormByLockMode,
                         ::testing::Values("skip-locked", "nowait", "blocking"),
                         [](const auto& info) {
                           return info.param == "skip-locked" ? std::string("SkipLocked")
                                  : info.param == "nowait"    ? std::string("Nowait")
                                                              : std::string("Blocking");
                         });

// A storm of `applicants` Applies over `campaigns` while three workers
// (batches of 1: many short transactions, so kills land mid-transaction)
// are SIGKILLed and replaced, one each time 40 more
// decisions have landed, so that kills interleave with real work rather than
// with idle workers; `rounds` kills at most, `after_kill(round)` after each.
// Then nothing acknowledged is lost, nothing stays pending, each
// application is decided exactly once, and every cap and counter holds.
void StormKillingWorkers(Stack& stack, const std::vector<int64_t>& campaigns, int applicants,
                         int rounds, const std::function<void(int)>& after_kill) {
  for (int i = 0; i < 3; ++i) stack.StartWorker({"skip-locked", 2, 1});
  auto records = Applicants(campaigns, applicants);
  std::atomic<bool> storm_done{false};
  std::thread storm([&] {
    RunApplyStorm(stack, records, 16, Deadline(seconds(150)));
    storm_done = true;
  });
  pqxx::connection observer(stack.database_url());
  auto decided = [&] {
    pqxx::nontransaction txn(observer);
    return txn.exec("SELECT count(*) FROM applications WHERE status <> 'pending'")[0][0]
        .as<int64_t>();
  };
  int kills = 0;
  int victim = 0;
  for (int round = 0; round < rounds && !storm_done; ++round) {
    const int64_t before = decided();
    PollUntil([&] { return storm_done || decided() >= before + 40; }, Deadline(seconds(60)),
              std::chrono::milliseconds(5));
    stack.KillWorker(victim, SIGKILL);
    ++kills;
    victim = stack.StartWorker({"skip-locked", 2, 1});
    after_kill(round);
  }
  storm.join();
  std::cout << "killed " << kills << " workers\n";
  EXPECT_GE(kills, 1);
  ASSERT_TRUE(WaitUntilDecided(stack, records, Deadline(kDecideTimeout)));
  const verify::Verdict verdict = VerifyStorm(stack, records);
  ExpectAllHold(verdict);
  ExpectAllAcknowledged(records);
  stack.StopWorkers();
  stack.StopServer();
}

// Workers are SIGKILLed again and again while Applies stream in, and the
// server is restarted mid-storm: every acknowledged Apply survives and is
// decided exactly once, and the cap holds.
TEST(EndToEnd, KilledWorkersAndServerRestartLoseNothing) {
  Stack stack("chaos");
  stack.StartServer();
  InstallDecisionAudit(stack);
  auto stub = stack.NewStub();
  std::vector<int64_t> campaigns;
  for (int i = 0; i < 10; ++i) campaigns.push_back(CreateCampaign(*stub, "chaos", 60, i % 2 == 0));
  bool restarted_server = false;
  StormKillingWorkers(stack, campaigns, 3000, 8, [&](int round) {
    if (round != 3) return;
    // The server dies hard too; clients retry UNAVAILABLE on the same user.
    stack.StopServer();
    stack.StartServer();
    restarted_server = true;
  });
  std::cout << "server restarted: " << restarted_server << "\n";
}

// The same with uncapped campaigns among the capped ones: those are decided
// by the wake-up's step 0 (claim.h), the campaign each NOTIFY names, without
// a campaign lock and without claiming again after a short batch. Workers
// killed mid-batch leave rows that the next wake-up, Apply or poll decides:
// each exactly once, nothing left pending, the caps hold.
TEST(EndToEnd, KilledWorkersLoseNothingOfUncappedCampaigns) {
  Stack stack("chaos_uncapped");
  stack.StartServer();
  InstallDecisionAudit(stack);
  auto stub = stack.NewStub();
  std::vector<int64_t> campaigns;
  for (int i = 0; i < 6; ++i) campaigns.push_back(CreateCampaign(*stub, "open", i < 4 ? 0 : 40));
  StormKillingWorkers(stack, campaigns, 1500, 6, [](int) {});
}

// Applies race a CloseCampaign: each is either refused (FAILED_PRECONDITION)
// or stored; nothing stays pending, and everything not approved before the
// close is rejected as campaign_closed.
TEST(EndToEnd, ApplyRacingCloseIsNeverLeftPending) {
  Stack stack("close_race");
  stack.StartServer();
  InstallDecisionAudit(stack);
  for (int i = 0; i < 2; ++i) stack.StartWorker({"skip-locked", 2, 10});
  auto stub = stack.NewStub();
  for (int round = 0; round < 5; ++round) {
    const int64_t campaign = CreateCampaign(*stub, "closing", 20);
    auto records = Applicants({campaign}, 300, absl::StrCat("r", round, "-"));
    std::thread storm([&] { RunApplyStorm(stack, records, 16, Deadline(seconds(60))); });
    // Close once some Applies have landed, while the rest are in flight.
    pqxx::connection observer(stack.database_url());
    PollUntil(
        [&] {
          pqxx::nontransaction txn(observer);
          return txn.exec_params("SELECT count(*) FROM applications WHERE campaign_id = $1",
                                 campaign)[0][0]
                     .as<int64_t>() >= 50;
        },
        Deadline(seconds(30)), std::chrono::milliseconds(1));
    grpc::ClientContext context;
    v1::CloseCampaignRequest close;
    close.set_campaign_id(campaign);
    v1::Campaign closed;
    ASSERT_TRUE(stub->CloseCampaign(&context, close, &closed).ok());
    storm.join();
    int refused = 0;
    for (const auto& record : records) {
      if (!record.acknowledged) {
        EXPECT_EQ(record.last_code, grpc::StatusCode::FAILED_PRECONDITION);
        ++refused;
      }
    }
    ASSERT_TRUE(WaitUntilDecided(stack, records, Deadline(kDecideTimeout)));
    const verify::Verdict verdict = VerifyStorm(stack, records);
    ExpectAllHold(verdict);
    pqxx::connection check(stack.database_url());
    pqxx::nontransaction txn(check);
    const auto row = txn.exec_params(
        "SELECT count(*) FILTER (WHERE status = 'approved'), "
        "       count(*) FILTER (WHERE status = 'rejected' AND reason = 'campaign_closed'), "
        "       count(*) FROM applications WHERE campaign_id = $1",
        campaign)[0];
    EXPECT_LE(row[0].as<int64_t>(), 20);
    EXPECT_EQ(row[0].as<int64_t>() + row[1].as<int64_t>(), row[2].as<int64_t>());
    EXPECT_EQ(row[2].as<int64_t>() + refused, 300);
    std::cout << "round " << round << ": stored " << row[2].as<int64_t>() << ", refused " << refused
              << ", approved " << row[0].as<int64_t>() << "\n";
  }
  stack.StopWorkers();
  stack.StopServer();
}

}  // namespace
}  // namespace campaignq::testing
