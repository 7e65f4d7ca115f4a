// Unit tier: the race lab's pure parts. No database.

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "common/flags.h"
#include "common/json_text.h"
#include "gtest/gtest.h"
#include "lab/barrier.h"
#include "lab/command.h"
#include "lab/html_report.h"
#include "lab/lab.h"
#include "lab/report.h"
#include "lab/result.h"

namespace campaignq::lab {
namespace {

TEST(Percentile, NearestRank) {
  EXPECT_EQ(Percentile({}, 50), 0);
  EXPECT_EQ(Percentile({7}, 99), 7);
  std::vector<double> values;
  for (int i = 100; i >= 1; --i) values.push_back(i);  // unsorted on purpose
  EXPECT_EQ(Percentile(values, 50), 50);
  EXPECT_EQ(Percentile(values, 99), 99);
  EXPECT_EQ(Percentile(values, 100), 100);
  EXPECT_EQ(Percentile(values, 0), 1);
  EXPECT_EQ(Percentile({1, 2, 3, 4}, 50), 2);
}

TEST(CountingBarrier, ReleasesEveryRoundWhenAllArrive) {
  constexpr int kParties = 4, kRounds = 50;
  CountingBarrier barrier(kParties);
  std::atomic<int> passed{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kParties; ++t) {
    threads.emplace_back([&] {
      for (int r = 0; r < kRounds; ++r) {
        (barrier.ArriveAndWait(std::chrono::seconds(10)) ? passed : failed)++;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(passed.load(), kParties * kRounds);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_FALSE(barrier.broken());
}

TEST(CountingBarrier, TimesOutAndStaysBrokenWhenAPartyIsMissing) {
  CountingBarrier barrier(2);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(barrier.ArriveAndWait(std::chrono::milliseconds(50)));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(50));
  EXPECT_TRUE(barrier.broken());
  // Broken for good: no later wait blocks.
  EXPECT_FALSE(barrier.ArriveAndWait(std::chrono::hours(1)));
}

TEST(CountingBarrier, BreakReleasesWaiters) {
  CountingBarrier barrier(2);
  std::thread waiter([&] { EXPECT_FALSE(barrier.ArriveAndWait(std::chrono::hours(1))); });
  // Break() is safe whether or not the waiter has arrived yet.
  barrier.Break();
  waiter.join();
}

StrategyResult Row(const std::string& name, bool unsafe, int64_t violations) {
  StrategyResult r;
  r.strategy = name;
  r.unsafe = unsafe;
  r.clients = 4;
  r.attempts = 10;
  r.succeeded = 10;
  r.violations = violations;
  r.errors = {{"40001", 3}, {"55P03", 1}};
  r.end_state = "counter";
  r.expected = 10;
  r.actual = 10 - violations;
  r.throughput = 1234.5;
  r.p50_ms = 0.5;
  r.p99_ms = 2.25;
  r.extra = {{"turned_away", 1}};
  return r;
}

LabReport SampleReport() {
  ScenarioReport scenario;
  scenario.name = "lost-update";
  scenario.title = "4 clients <x> \"quoted\"";
  scenario.violation_label = "lost updates";
  scenario.notes = {"unsafe: barrier"};
  scenario.results = {Row("unsafe", true, 6), Row("atomic", false, 0)};
  LabReport report;
  report.scenarios.push_back(scenario);
  report.seconds = 1.5;
  return report;
}

TEST(Report, VerdictsFollowTheExpectation) {
  EXPECT_EQ(Verdict(Row("unsafe", true, 6)), "BROKE (expected)");
  EXPECT_EQ(Verdict(Row("unsafe", true, 0)), "did not break (!)");
  EXPECT_EQ(Verdict(Row("atomic", false, 0)), "holds");
  EXPECT_EQ(Verdict(Row("atomic", false, 1)), "VIOLATED (!)");
  StrategyResult deadlocked = Row("two-orders", true, 0);
  deadlocked.errors = {{"40P01", 2}};
  EXPECT_TRUE(Broke(deadlocked));
  EXPECT_TRUE(AsExpected(deadlocked));
}

TEST(Report, TableHasOneRowPerStrategyAndTheNumbers) {
  const std::string table = FormatTable(SampleReport());
  EXPECT_TRUE(absl::StrContains(table, "== lost-update"));
  EXPECT_TRUE(absl::StrContains(table, "* unsafe: barrier"));
  EXPECT_TRUE(absl::StrContains(table, "40001:3 55P03:1"));
  EXPECT_TRUE(absl::StrContains(table, "10/4"));
  EXPECT_TRUE(absl::StrContains(table, "BROKE (expected)"));
  EXPECT_TRUE(absl::StrContains(table, "turned_away=1"));
  EXPECT_TRUE(absl::StrContains(table, "lab finished in 1.5 s"));
  EXPECT_EQ(FormatErrors({}), "-");
}

TEST(Report, JsonIsOneEscapedDocument) {
  const std::string json = FormatJson(SampleReport());
  EXPECT_TRUE(absl::StartsWith(json, "{\"seconds\":1.500,"));
  EXPECT_TRUE(absl::StrContains(json, "\\\"quoted\\\""));
  EXPECT_TRUE(absl::StrContains(json, "\"errors\":{\"40001\":3,\"55P03\":1}"));
  EXPECT_TRUE(absl::StrContains(json, "\"violations\":6"));
  EXPECT_EQ(JsonEscape("a\nb\\c\x01"), "a\\nb\\\\c\\u0001");
}

TEST(Report, HtmlIsSelfContainedWithRedBarsForViolations) {
  const std::string html = FormatHtml(SampleReport());
  EXPECT_TRUE(absl::StartsWith(html, "<!DOCTYPE html>"));
  EXPECT_FALSE(absl::StrContains(html, "<script"));
  EXPECT_FALSE(absl::StrContains(html, "src="));
  EXPECT_FALSE(absl::StrContains(html, "href="));
  EXPECT_FALSE(absl::StrContains(html, "\"quoted\""));  // escaped
  EXPECT_TRUE(absl::StrContains(html, "&lt;x&gt;"));
  EXPECT_TRUE(absl::StrContains(html, "<svg"));
  EXPECT_TRUE(absl::StrContains(html, "#d62728"));  // the unsafe row's red bar
  EXPECT_TRUE(absl::StrContains(html, "0 - holds"));
}

TEST(Options, UnknownNamesAreUsageErrors) {
  LabOptions options;
  options.scenarios = {"lost-update"};
  options.strategies = {"unsafe", "skip-locked"};
  EXPECT_TRUE(ValidateOptions(options).ok());
  options.scenarios = {"no-such"};
  EXPECT_EQ(ValidateOptions(options).code(), absl::StatusCode::kInvalidArgument);
  options.scenarios = {};
  options.strategies = {"yolo"};
  EXPECT_EQ(ValidateOptions(options).code(), absl::StatusCode::kInvalidArgument);
}

// `campaignq lab` acts only on a database named on its command line: the
// URL every process of a deployment inherits (CAMPAIGNQ_DATABASE_URL, here
// handed in as the CLI does) is the service's.
TEST(Command, RefusesADatabaseUrlNotGivenOnTheCommandLine) {
  std::string program = "campaignq", command = "lab";
  char* argv[] = {program.data(), command.data()};
  ASSERT_TRUE(ParseCommandLine(2, argv).ok());
  EXPECT_EQ(RunLabCommand({"postgresql://service@db/campaignq", false, 0}), 2);
}

// Under --json the lab's errors are the CLI's JSON error object, on stderr.
TEST(Command, ErrorsAreJsonUnderJson) {
  std::string program = "campaignq", command = "lab";
  char* argv[] = {program.data(), command.data()};
  ASSERT_TRUE(ParseCommandLine(2, argv).ok());
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(RunLabCommand({"postgresql://service@db/campaignq", true, 0}), 2);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(absl::StartsWith(err, "{\"code\":\"USAGE\",\"message\":\"campaignq lab needs"))
      << err;
  EXPECT_TRUE(absl::EndsWith(err, "\"exit_code\":2}\n")) << err;
}

}  // namespace
}  // namespace campaignq::lab
