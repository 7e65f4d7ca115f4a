// The help texts, and RunCli's dispatch of every command they list.

#include "client/usage.h"

#include <string>
#include <vector>

#include "client/cli.h"
#include "common/exit_codes.h"
#include "fake_campaignq.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace campaignq::client {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::internal::CaptureStderr;
using ::testing::internal::CaptureStdout;
using ::testing::internal::GetCapturedStderr;
using ::testing::internal::GetCapturedStdout;

// RunCli on `args` (without the program name); stdout and stderr captured.
struct CliRun {
  int exit = -1;
  std::string out, err;
};
CliRun RunArgs(std::vector<std::string> args) {
  args.insert(args.begin(), "campaignq");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  CliRun run;
  CaptureStdout();
  CaptureStderr();
  run.exit =
      RunCli(static_cast<int>(argv.size()), argv.data(), [](const CliOptions&) { return kExitOk; });
  run.out = GetCapturedStdout();
  run.err = GetCapturedStderr();
  return run;
}

TEST(Usage, EveryCommandHasHelpWithFlagsAndAnExample) {
  const std::string usage = UsageText();
  for (const std::string& name : CommandNames()) {
    std::optional<std::string> help = CommandHelp(name);
    ASSERT_TRUE(help.has_value()) << name;
    EXPECT_THAT(*help, HasSubstr("usage: campaignq [global flags] " + name)) << name;
    EXPECT_THAT(*help, HasSubstr("\nexample:\n  campaignq ")) << name;
    EXPECT_THAT(usage, HasSubstr("\n  " + name)) << name;
  }
  EXPECT_FALSE(CommandHelp("bogus").has_value());
  EXPECT_THAT(*CommandHelp("create-campaign"), HasSubstr("random UUID"));
  EXPECT_THAT(usage, HasSubstr("19  FAILED_PRECONDITION"));
}

TEST(RunCli, CommandHelpPrintsThatCommandsUsage) {
  for (const std::string& name : CommandNames()) {
    CliRun run = RunArgs({name, "--help"});
    EXPECT_EQ(run.exit, kExitOk) << name;
    EXPECT_EQ(run.out, *CommandHelp(name)) << name;
  }
  CliRun run = RunArgs({"--server=127.0.0.1:1", "help", "retry-failed"});
  EXPECT_EQ(run.out, *CommandHelp("retry-failed"));
  run = RunArgs({"--help"});
  EXPECT_EQ(run.out, UsageText());
  run = RunArgs({"--version"});
  EXPECT_EQ(run.exit, kExitOk);
  EXPECT_THAT(run.out, HasSubstr("campaignq "));
}

TEST(RunCli, EveryListedCommandIsDispatched) {
  testing::FakeServer server;
  for (const std::string& name : CommandNames()) {
    CliRun run = RunArgs({"--server=" + server.address(), "--rpc-timeout=5s", name});
    EXPECT_THAT(run.err, Not(HasSubstr("unknown command"))) << name;
  }
  CliRun run = RunArgs({"bogus"});
  EXPECT_EQ(run.exit, kExitUsage);
  EXPECT_THAT(run.err, HasSubstr("unknown command: bogus"));
}

TEST(RunCli, UsageErrorsAreJsonUnderJson) {
  CliRun run = RunArgs({"--json", "--no-such-flag"});
  EXPECT_EQ(run.exit, kExitUsage);
  EXPECT_EQ(run.err,
            "{\"code\":\"USAGE\",\"message\":\"unknown flag --no-such-flag\",\"exit_code\":2}\n");
  run = RunArgs({"--json", "stats", "extra"});
  EXPECT_EQ(run.exit, kExitUsage);
  EXPECT_THAT(run.err, HasSubstr("\"message\":\"unexpected argument: extra\""));
  run = RunArgs({"--json=false", "stats", "extra"});
  EXPECT_THAT(run.err, HasSubstr("usage error: unexpected argument: extra"));
}

}  // namespace
}  // namespace campaignq::client
