// e2e tier: the pooler-safe mode through a real PgBouncer in transaction
// pooling (no prepared statements, no session state, polling instead of
// LISTEN), with the same storm and the same invariants as a direct
// connection.

#include <chrono>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "support/pgbouncer.h"
#include "support/poll.h"
#include "support/stack.h"
#include "support/storm.h"

namespace campaignq::testing {
namespace {

using std::chrono::seconds;

TEST(Pooler, StormThroughPgBouncerTransactionPoolingKeepsEveryInvariant) {
  PgBouncer bouncer;
  Stack stack("pooler");
  stack.set_process_database_url(bouncer.Through(stack.database_url()));
  stack.StartServer({"--pooler-mode"});
  InstallDecisionAudit(stack);
  for (int i = 0; i < 3; ++i) stack.StartWorker({"skip-locked", 4, 20, {"--pooler-mode"}});
  const int64_t served_before = bouncer.TransactionsServed();

  auto stub = stack.NewStub();
  std::vector<int64_t> campaigns;
  for (int i = 0; i < 6; ++i) {
    grpc::ClientContext context;
    v1::CreateCampaignRequest request;
    request.set_name(absl::StrCat("pooled-", i));
    request.set_max_participants(50);
    request.set_waitlist(i % 2 == 0);
    v1::Campaign campaign;
    ASSERT_TRUE(stub->CreateCampaign(&context, request, &campaign).ok());
    campaigns.push_back(campaign.id());
  }
  auto records = Applicants(campaigns, 1200);
  RunApplyStorm(stack, records, 32, Deadline(seconds(120)));
  ASSERT_TRUE(WaitUntilDecided(stack, records, Deadline(seconds(180))));
  const verify::Verdict verdict = VerifyStorm(stack, records);
  ExpectAllHold(verdict);
  EXPECT_EQ(verdict.acknowledged, 1200);
  for (int64_t campaign : campaigns) EXPECT_EQ(verdict.Campaign(campaign).approved, 50);
  // The work really went through PgBouncer.
  EXPECT_GT(bouncer.TransactionsServed(), served_before + 100);
  stack.StopWorkers();
  stack.StopServer();
}

}  // namespace
}  // namespace campaignq::testing
