// e2e tier, black box: the campaignq CLI against the real server and worker
// processes. The CLI's storm is its own judge (exit 0 only when every
// invariant holds); the tables are checked independently.

#include <signal.h>

#include <chrono>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/db/migrator.h"
#include "gtest/gtest.h"
#include "support/binaries.h"
#include "support/poll.h"
#include "support/stack.h"
#include "support/storm.h"

namespace campaignq::testing {
namespace {

using namespace std::chrono_literals;

// The kit's checks once more, from this process: the CLI's verdict is not
// the only one. (FCFS needs the Applies' timing, which only the CLI has:
// its storm checks it.) With the audit installed before the storm, both
// also prove that each application left pending exactly once.
void ExpectDatabaseInvariants(Stack& stack) {
  verify::VerifyOptions options;
  options.all_campaigns = true;
  ExpectAllHold(VerifyStorm(stack, {}, options));
}

void ShutDown(Stack& stack) {
  stack.StopWorkers();
  stack.StopServer();
}

TEST(Cli, StormWithWaitlistKeepsEveryInvariant) {
  Stack stack("cli_waitlist");
  stack.StartServer();
  InstallDecisionAudit(stack);
  for (int i = 0; i < 3; ++i) stack.StartWorker();
  const ClientResult storm =
      stack.RunClient({"storm", "--campaigns=4", "--applicants=400", "--cap=25", "--waitlist=true",
                       "--concurrency=32", "--json"});
  EXPECT_EQ(storm.exit.ToString(), "exit 0") << storm.stdout_text << "\n" << storm.stderr_text;
  EXPECT_TRUE(absl::StartsWith(storm.stdout_text, "{")) << storm.stdout_text;
  // The audit was installed: the CLI's storm checked (f) too.
  EXPECT_TRUE(absl::StrContains(storm.stdout_text, "\"audit_checked\":true")) << storm.stdout_text;
  EXPECT_EQ(stack.Scalar("SELECT count(*) FROM campaigns"), 4);
  EXPECT_EQ(stack.Scalar("SELECT count(*) FROM applications WHERE status = 'approved'"), 4 * 25);
  ExpectDatabaseInvariants(stack);
  ShutDown(stack);
}

TEST(Cli, StormWithoutWaitlistRejectsTheRestAsFull) {
  Stack stack("cli_no_waitlist");
  stack.StartServer();
  InstallDecisionAudit(stack);
  stack.StartWorker({"nowait", 4, 50});
  stack.StartWorker({"skip-locked", 4, 50});
  const ClientResult storm =
      stack.RunClient({"storm", "--campaigns=3", "--applicants=300", "--cap=10", "--waitlist=false",
                       "--concurrency=32", "--json"});
  EXPECT_EQ(storm.exit.ToString(), "exit 0") << storm.stdout_text << "\n" << storm.stderr_text;
  EXPECT_EQ(stack.Scalar("SELECT count(*) FROM applications WHERE status = 'waitlisted'"), 0);
  EXPECT_EQ(stack.Scalar("SELECT count(*) FROM applications WHERE status = 'approved'"), 3 * 10);
  ExpectDatabaseInvariants(stack);
  ShutDown(stack);
}

TEST(Cli, StormSurvivesAWorkerKilledMidStorm) {
  Stack stack("cli_kill");
  stack.StartServer();
  InstallDecisionAudit(stack);
  const int doomed = stack.StartWorker({"skip-locked", 4, 5});
  stack.StartWorker({"skip-locked", 4, 5});
  auto storm = Process::Start(
      {kClientBinary,
       {"--server=" + stack.address(), "storm", "--campaigns=4", "--applicants=600", "--cap=30",
        "--concurrency=32", "--json", "--database-url=" + stack.database_url()},
       {{"CAMPAIGNQ_SERVER", ""}},
       stack.dir() + "/storm.log"});
  ASSERT_TRUE(storm.ok()) << storm.status();
  // Kill one worker once decisions are under way: its open batch, if any,
  // rolls back and the other worker takes the campaign.
  ASSERT_TRUE(PollUntil(
      [&] {
        return stack.Scalar("SELECT count(*) FROM applications WHERE status <> 'pending'") > 0;
      },
      Deadline(120s)))
      << "no application was ever decided";
  stack.KillWorker(doomed, SIGKILL);
  auto exit = (*storm)->Wait(Deadline(300s));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_TRUE(exit->Success()) << exit->ToString() << "\n" << (*storm)->Describe();
  ExpectDatabaseInvariants(stack);
  ShutDown(stack);
}

TEST(Cli, CreateApplyWatchAndDuplicate) {
  Stack stack("cli_commands");
  stack.StartServer();
  stack.StartWorker();
  const ClientResult created =
      stack.RunClient({"--json", "create-campaign", "--name=launch", "--cap=1"});
  ASSERT_TRUE(created.exit.Success()) << created.stderr_text;
  const int64_t campaign_id = stack.Scalar("SELECT max(id) FROM campaigns");
  ASSERT_GT(campaign_id, 0);

  const std::string campaign_flag = absl::StrCat("--campaign=", campaign_id);
  const ClientResult applied = stack.RunClient({"--json", "apply", campaign_flag, "--user=alice"});
  ASSERT_TRUE(applied.exit.Success()) << applied.stderr_text;
  const int64_t application_id = stack.Scalar("SELECT max(id) FROM applications");
  const ClientResult watched = stack.RunClient(
      {"watch", absl::StrCat("--application=", application_id), "--timeout=60s", "--json"});
  EXPECT_TRUE(watched.exit.Success()) << watched.stderr_text;
  EXPECT_TRUE(absl::StrContains(watched.stdout_text, "APPROVED")) << watched.stdout_text;

  const ClientResult duplicate = stack.RunClient({"apply", campaign_flag, "--user=alice"});
  EXPECT_EQ(duplicate.exit.ToString(), "exit 1");
  EXPECT_TRUE(absl::StrContains(duplicate.stderr_text, "ALREADY_EXISTS")) << duplicate.stderr_text;
  EXPECT_EQ(stack.Scalar("SELECT count(*) FROM applications"), 1);

  const ClientResult health = stack.RunClient({"health"});
  EXPECT_EQ(health.exit.ToString(), "exit 0") << health.stdout_text << health.stderr_text;
  ShutDown(stack);
}

TEST(Cli, ServerRefusesAnUnmigratedDatabaseInVerifyMode) {
  Stack stack("cli_verify");
  auto server = Process::Start(
      {kServerBinary,
       {"--database-url=" + stack.database_url(), "--listen=127.0.0.1:0", "--migrate=verify"},
       {{"CAMPAIGNQ_DATABASE_URL", ""}},
       stack.dir() + "/server.log"});
  ASSERT_TRUE(server.ok()) << server.status();
  auto exit = (*server)->Wait(Deadline(60s));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_EQ(exit->ToString(), "exit 2");
  EXPECT_TRUE((*server)->StdoutLines().empty());
}

// The one-shot migrate step of a deployment: apply, exit 0 without serving;
// afterwards verify passes.
TEST(Cli, ServerMigrateOnlyAppliesTheSchemaAndExits) {
  Stack stack("cli_migrate_only");
  for (const char* mode : {"--migrate=auto", "--migrate=verify"}) {
    auto server = Process::Start(
        {kServerBinary,
         {"--database-url=" + stack.database_url(), "--listen=127.0.0.1:0", mode, "--migrate-only"},
         {{"CAMPAIGNQ_DATABASE_URL", ""}},
         stack.dir() + "/migrate.log"});
    ASSERT_TRUE(server.ok()) << server.status();
    auto exit = (*server)->Wait(Deadline(60s));
    ASSERT_TRUE(exit.ok()) << exit.status();
    EXPECT_EQ(exit->ToString(), "exit 0") << mode << ": " << (*server)->Describe();
    EXPECT_TRUE((*server)->StdoutLines().empty()) << mode;
  }
  EXPECT_EQ(stack.Scalar("SELECT count(*) FROM schema_migrations"),
            static_cast<int64_t>(db::EmbeddedMigrations().size()));
}

}  // namespace
}  // namespace campaignq::testing
