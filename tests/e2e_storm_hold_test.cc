// `campaignq storm --hold-duration` end to end (issue 21, part 1, "Storm and
// chaos"): the CLI's storm over campaigns whose seats are holds, its holders
// confirming, releasing and letting holds expire, while real worker
// processes are SIGKILLed mid-storm. The storm is its own judge (exit 0
// only when every check holds: the cap in every sample and at every commit,
// each seat given back passed on in its transaction, legal histories, FCFS,
// every hold ended within 1 s of its expiry, nothing pending); the kit's
// checks run once more from this process.

#include <signal.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "support/binaries.h"
#include "support/poll.h"
#include "support/stack.h"
#include "support/storm.h"

namespace campaignq::testing {
namespace {

using namespace std::chrono_literals;

// The integer after the first "key": in `json` at or after `from`; -1 when
// there is none.
int64_t JsonInt(const std::string& json, const std::string& key, const std::string& from = "") {
  const size_t start = from.empty() ? 0 : json.find(from);
  if (start == std::string::npos) return -1;
  const std::string quoted = absl::StrCat("\"", key, "\":");
  const size_t at = json.find(quoted, start);
  if (at == std::string::npos) return -1;
  const size_t begin = at + quoted.size();
  const size_t end = json.find_first_not_of("-0123456789", begin);
  int64_t value = -1;
  return absl::SimpleAtoi(json.substr(begin, end - begin), &value) ? value : -1;
}

TEST(StormHold, HoldersConfirmReleaseAndLetExpireWhileWorkersAreKilled) {
  Stack stack("storm_hold");
  stack.StartServer();
  InstallDecisionAudit(stack);
  for (int i = 0; i < 3; ++i) stack.StartWorker({"skip-locked", 2, 5});
  auto storm =
      Process::Start({kClientBinary,
                      {"--server=" + stack.address(), "storm", "--campaigns=3", "--applicants=120",
                       "--cap=6", "--waitlist=false", "--hold-duration=1s", "--max-active-holds=4",
                       "--confirm-share=0.4", "--release-share=0.3", "--concurrency=16",
                       "--decide-timeout=60s", "--json", "--database-url=" + stack.database_url()},
                      {{"CAMPAIGNQ_SERVER", ""}},
                      stack.dir() + "/storm.log"});
  ASSERT_TRUE(storm.ok()) << storm.status();
  const auto expired = [&] {
    return stack.Scalar("SELECT count(*) FROM applications WHERE status = 'expired'");
  };
  // Mid-storm: once holds have begun to expire, the worker that may be
  // expiring the next ones dies without a word; a second one later, while
  // a replacement takes over.
  ASSERT_TRUE(PollUntil([&] { return expired() >= 1; }, Deadline(60s))) << "no hold expired";
  stack.KillWorker(0, SIGKILL);
  stack.StartWorker({"skip-locked", 2, 5});
  const int64_t first = expired();
  ASSERT_TRUE(PollUntil([&] { return expired() > first; }, Deadline(60s)));
  stack.KillWorker(1, SIGKILL);

  auto exit = (*storm)->Wait(Deadline(120s));
  ASSERT_TRUE(exit.ok()) << exit.status();
  auto lines = (*storm)->AllStdoutLines(Deadline(10s));
  ASSERT_TRUE(lines.ok()) << lines.status();
  const std::string out = absl::StrJoin(*lines, "\n");
  EXPECT_TRUE(exit->Success()) << exit->ToString() << "\n" << out << "\n" << (*storm)->Describe();
  EXPECT_TRUE(absl::StrContains(out, "\"invariants\":{\"ok\":true")) << out;
  EXPECT_TRUE(absl::StrContains(out, "\"audit_checked\":true")) << out;
  // Each way a hold ends happened, and the checks had something to judge.
  EXPECT_GT(JsonInt(out, "confirmed", "\"holds\":"), 0) << out;
  EXPECT_GT(JsonInt(out, "released", "\"holds\":"), 0) << out;
  EXPECT_GT(JsonInt(out, "expired", "\"holds\":"), 0) << out;
  EXPECT_EQ(JsonInt(out, "seats_replayed"), 3) << out;
  EXPECT_GT(JsonInt(out, "samples"), 0) << out;
  std::printf("holds: %s\nlatest expiry %lld ms after its hold ended\n",
              out.substr(out.find("\"holds\":"), 120).c_str(),
              static_cast<long long>(JsonInt(out, "latest_expiry_ms")));

  verify::VerifyOptions options;
  options.all_campaigns = true;
  options.expect_holds_ended = true;
  options.hold_lateness = 1000ms;
  const verify::Verdict verdict = VerifyStorm(stack, {}, options);
  ExpectAllHold(verdict);
  EXPECT_EQ(verdict.totals.pending + verdict.totals.held, 0);
  stack.StopWorkers();
  stack.StopServer();
}

}  // namespace
}  // namespace campaignq::testing
