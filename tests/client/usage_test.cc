// The help texts, and RunCli's dispatch of every command they list.

#include "client/usage.h"

#include <string>
#include <vector>

#include "absl/flags/reflection.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
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
  // Each run starts from the defaults, as a process does.
  absl::FlagSaver restore_flags_afterwards;
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

namespace campaignq::client {
namespace {

// campaignq issue 20: every command took every flag and ignored the ones it
// does not use, so `list --user=alice` listed everyone's applications.
TEST(RunCli, RefusesAFlagTheCommandDoesNotTake) {
  testing::FakeServer server;
  CliRun run = RunArgs({"--server=" + server.address(), "list", "--user=alice"});
  EXPECT_EQ(run.exit, kExitUsage) << run.out;
  EXPECT_THAT(run.err, HasSubstr("campaignq list: --user is not a flag of list (its flags: "
                                 "--campaign, --status, --page-size, --limit;"));
  EXPECT_EQ(run.out, "");  // nothing was sent, nothing listed
}

// The table is the whole truth about flags: each command takes its own and
// the global ones, by either spelling, and nothing else.
TEST(CheckFlags, TakesACommandsOwnAndTheGlobalFlagsOnly) {
  const CommandSpec& list = *FindCommand("list");
  EXPECT_TRUE(CheckFlags(list, {"campaign", "page_size", "page-size", "server", "json"}).ok());
  const absl::Status refused = CheckFlags(list, {"limit", "user"});
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.message(),
            "campaignq list: --user is not a flag of list (its flags: --campaign, --status, "
            "--page-size, --limit; global flags: campaignq --help)");
  // Where the database is, like where the server is, is global: a
  // deployment passes it to every command.
  EXPECT_TRUE(CheckFlags(list, {"database_url"}).ok());
  EXPECT_TRUE(CheckFlags(*FindCommand("storm"), {"database_url", "cap"}).ok());
  EXPECT_THAT(std::string(CheckFlags(*FindCommand("list-campaigns"), {"campaign"}).message()),
              HasSubstr("(its flags: --page-size, --limit;"));
  EXPECT_EQ(FindCommand("bogus"), nullptr);
}

// Help is generated from the table: every flag a command takes is in its
// help and its usage line, with the default the Abseil flag has.
TEST(Usage, HelpListsEveryFlagOfTheTableWithItsDefault) {
  const std::string usage = UsageText();
  for (const CommandSpec& c : Commands()) {
    const std::string help = *CommandHelp(c.name);
    for (const FlagUse& f : c.flags) {
      const std::string spelling = absl::StrCat("--", f.name, *f.value ? "=" : "", f.value);
      EXPECT_THAT(help, HasSubstr("\n  " + spelling + "\n")) << c.name;
      EXPECT_THAT(usage, HasSubstr(spelling)) << c.name;
    }
  }
  for (const FlagUse& f : GlobalFlags()) {
    EXPECT_THAT(usage, HasSubstr(absl::StrCat("\n  --", f.name))) << f.name;
  }
  EXPECT_THAT(*CommandHelp("storm"), HasSubstr("concurrent Apply calls\n      default 64\n"));
  EXPECT_THAT(usage, HasSubstr("the campaignq server\n      default 127.0.0.1:50051; env "
                               "$CAMPAIGNQ_SERVER or $CAMPAIGNQ_SERVER_FILE\n"));
  // The lab reads only the command line: no variable, no default shown.
  EXPECT_THAT(*CommandHelp("lab"), Not(HasSubstr("55432")));
}

// Every flag the table names is a flag of the program, and RunCli lets
// each command take each of its flags (given its default value).
TEST(RunCli, EveryCommandTakesEveryFlagItsHelpLists) {
  testing::FakeServer server;
  for (const CommandSpec& c : Commands()) {
    for (const FlagUse& f : c.flags) {
      const std::string identifier = absl::StrReplaceAll(f.name, {{"-", "_"}});
      const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(identifier);
      if (flag == nullptr) {
        // The lab's own flags are linked into the campaignq executable only.
        EXPECT_EQ(std::string(c.name), "lab") << f.name;
        continue;
      }
      const std::string value = flag->DefaultValue().empty() ? "true" : flag->DefaultValue();
      CliRun run = RunArgs({"--server=" + server.address(), "--rpc-timeout=5s", c.name,
                            absl::StrCat("--", f.name, "=", value)});
      EXPECT_THAT(run.err, Not(HasSubstr("is not a flag of"))) << c.name << " --" << f.name;
      EXPECT_THAT(run.err, Not(HasSubstr("unknown flag"))) << c.name << " --" << f.name;
    }
  }
}

TEST(RunCli, RefusedFlagIsAJsonUsageErrorUnderJson) {
  CliRun run = RunArgs({"--json", "get", "7", "--status=failed"});
  EXPECT_EQ(run.exit, kExitUsage);
  EXPECT_EQ(run.err,
            "{\"code\":\"USAGE\",\"message\":\"campaignq get: --status is not a flag of get "
            "(its flags: --application, --campaign; global flags: campaignq --help)\","
            "\"exit_code\":2}\n");
  run = RunArgs({"stats", "--user=alice"});
  EXPECT_THAT(run.err, HasSubstr("usage error: campaignq stats: --user is not a flag of stats"));
}

// The environment sets global flags (and storm's --database-url) for every
// command: it is no flag "on the command line" that a command could refuse.
TEST(RunCli, EnvironmentStillSetsGlobalFlags) {
  testing::FakeServer server;
  ASSERT_EQ(setenv("CAMPAIGNQ_SERVER", server.address().c_str(), 1), 0);
  ASSERT_EQ(setenv("CAMPAIGNQ_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none", 1), 0);
  CliRun run = RunArgs({"list-campaigns"});
  unsetenv("CAMPAIGNQ_SERVER");
  unsetenv("CAMPAIGNQ_DATABASE_URL");
  EXPECT_EQ(run.exit, kExitOk) << run.err;
}

}  // namespace
}  // namespace campaignq::client
