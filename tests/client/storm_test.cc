// storm end to end against an in-memory fake service (fake_campaignq.h):
// a correct service passes, and each injected bug is reported.

#include "client/storm.h"

#include <string>
#include <utility>

#include "client/options.h"
#include "fake_campaignq.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace campaignq::client {
namespace {

using testing::FakeBehaviour;
using testing::FakeServer;
using ::testing::HasSubstr;

CliOptions StormOptions(const FakeServer& server) {
  CliOptions o;
  o.server = server.address();
  o.json = true;
  o.rpc_timeout = absl::Seconds(5);
  o.campaigns = 3;
  o.applicants = 60;
  o.cap = 5;
  o.concurrency = 8;
  o.decide_timeout = absl::Seconds(20);
  return o;
}

// Returns storm's exit code and its stdout.
std::pair<int, std::string> RunCaptured(const CliOptions& o) {
  ::testing::internal::CaptureStdout();
  const int code = RunStorm(o);
  return {code, ::testing::internal::GetCapturedStdout()};
}

TEST(Storm, CorrectServicePasses) {
  FakeServer server;
  auto [code, out] = RunCaptured(StormOptions(server));
  EXPECT_EQ(code, kExitOk) << out;
  EXPECT_THAT(out, HasSubstr("\"invariants\":{\"ok\":true"));
  EXPECT_THAT(out, HasSubstr("\"applicants\":60,\"acknowledged\":60"));
  EXPECT_THAT(out, HasSubstr("\"totals\":{\"campaign_id\":0,\"cap\":15"));
  EXPECT_THAT(out, HasSubstr("\"approved\":15,\"waitlisted\":45"));
}

TEST(Storm, NoWaitlistRejectsTheRest) {
  FakeServer server;
  CliOptions o = StormOptions(server);
  o.waitlist = false;
  o.json = false;
  auto [code, out] = RunCaptured(o);
  EXPECT_EQ(code, kExitOk) << out;
  EXPECT_THAT(out, HasSubstr("all invariants hold"));
}

TEST(Storm, LostRepliesAreRetriedWithTheSameUser) {
  FakeBehaviour b;
  b.lose_first_reply = true;
  FakeServer server(b);
  CliOptions o = StormOptions(server);
  o.applicants = 16;
  auto [code, out] = RunCaptured(o);
  EXPECT_EQ(code, kExitOk) << out;
  EXPECT_THAT(out, HasSubstr("\"applicants\":16,\"acknowledged\":16,\"apply_failures\":0"));
  EXPECT_THAT(out, HasSubstr("\"ack_duplicated\":0"));
}

TEST(Storm, NewestFirstBreaksFcfs) {
  FakeBehaviour b;
  b.decide_newest_first = true;
  b.batch = 1000;  // decide everything at once, newest first
  FakeServer server(b);
  CliOptions o = StormOptions(server);
  o.concurrency = 1;  // sequential applies: real-time order is total
  o.campaigns = 1;
  o.applicants = 10;
  o.cap = 3;
  auto [code, out] = RunCaptured(o);
  EXPECT_EQ(code, kExitInvariantBroken) << out;
  EXPECT_THAT(out, HasSubstr("\"fcfs_violations\":3"));
}

TEST(Storm, IgnoredCapIsReported) {
  FakeBehaviour b;
  b.ignore_cap = true;
  FakeServer server(b);
  CliOptions o = StormOptions(server);
  o.json = false;
  auto [code, out] = RunCaptured(o);
  EXPECT_EQ(code, kExitInvariantBroken) << out;
  EXPECT_THAT(out, HasSubstr("BROKEN (a) approved <= cap: 3 campaign(s) over"));
}

TEST(Storm, UnreachableServerIsAnRpcFailure) {
  CliOptions o;
  o.server = "127.0.0.1:1";
  o.rpc_timeout = absl::Seconds(2);
  o.applicants = 1;
  EXPECT_EQ(RunStorm(o), kExitFailure);
}

TEST(Storm, BadFlagsAreUsageErrors) {
  CliOptions o;
  o.applicants = 0;
  EXPECT_EQ(RunStorm(o), kExitUsage);
}

}  // namespace
}  // namespace campaignq::client
