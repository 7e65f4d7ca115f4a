// e2e tier, black box: the campaignq CLI against the real server and worker
// processes. The CLI's storm is its own judge (exit 0 only when every
// invariant holds); the tables are checked independently.

#include <signal.h>

#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/db/migrator.h"
#include "common/exit_codes.h"
#include "gtest/gtest.h"
#include "support/binaries.h"
#include "support/poll.h"
#include "support/stack.h"
#include "support/storm.h"
#include "support/temp_dir.h"
#include "support/test_postgres.h"

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

// "exit N" for the CLI's exit code N: what ClientResult's exit prints.
std::string Exit(int code) { return absl::StrCat("exit ", code); }

// An RFC 3339 time `from_now` away, in whole seconds and UTC, as proto3
// JSON prints a Timestamp.
std::string TimeFromNow(absl::Duration from_now) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now() + from_now, absl::UTCTimeZone());
}

// The status of application `id`, as the database has it.
std::string StatusOf(Stack& stack, int64_t id) {
  const std::string query = absl::StrCat(
      "SELECT CASE status WHEN 'pending' THEN 1 WHEN 'approved' THEN 2 WHEN 'waitlisted' THEN 3 "
      "WHEN 'rejected' THEN 4 WHEN 'cancelled' THEN 5 WHEN 'failed' THEN 6 END FROM applications "
      "WHERE id = ",
      id);
  static const char* const kWords[] = {"?",        "pending",   "approved", "waitlisted",
                                       "rejected", "cancelled", "failed"};
  return kWords[stack.Scalar(query)];
}

// Waits until application `id` has `status`; fails the test otherwise.
void AwaitStatus(Stack& stack, int64_t id, const std::string& status) {
  ASSERT_TRUE(PollUntil([&] { return StatusOf(stack, id) == status; }, Deadline(60s)))
      << "application " << id << " is " << StatusOf(stack, id) << ", not " << status;
}

// Marks application `id` failed, as a deterministic decision error would.
void MakeFailed(Stack& stack, int64_t id) {
  EXPECT_EQ(stack.Scalar(campaignq::testing::MarkFailedSql(id, "x")), id);
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
  EXPECT_EQ(duplicate.exit.ToString(), Exit(kExitAlreadyExists));
  EXPECT_TRUE(absl::StrContains(duplicate.stderr_text, "ALREADY_EXISTS")) << duplicate.stderr_text;
  EXPECT_EQ(stack.Scalar("SELECT count(*) FROM applications"), 1);

  const ClientResult health = stack.RunClient({"health"});
  EXPECT_EQ(health.exit.ToString(), "exit 0") << health.stdout_text << health.stderr_text;
  ShutDown(stack);
}

// Holds through the CLI, decided by a real worker (docs/holds.md): a seat
// offered as a hold, declined with `release` and passed on to the next in
// line, confirmed with `confirm`; a released hold cannot be confirmed.
TEST(Cli, HoldsAreReleasedAndConfirmedWithTheirCommands) {
  Stack stack("cli_holds");
  stack.StartServer();
  stack.StartWorker();
  const ClientResult created =
      stack.RunClient({"create-campaign", "--name=drop", "--cap=1", "--hold-duration=10m"});
  ASSERT_TRUE(created.exit.Success()) << created.stderr_text;
  EXPECT_TRUE(absl::StrContains(created.stdout_text, " hold_duration=10m held=0"))
      << created.stdout_text;
  const std::string campaign_flag =
      absl::StrCat("--campaign=", stack.Scalar("SELECT max(id) FROM campaigns"));
  ASSERT_TRUE(stack.RunClient({"apply", campaign_flag, "--user=alice"}).exit.Success());
  const int64_t alice = stack.Scalar("SELECT max(id) FROM applications");
  ASSERT_TRUE(stack.RunClient({"apply", campaign_flag, "--user=bob"}).exit.Success());
  const int64_t bob = stack.Scalar("SELECT max(id) FROM applications");
  const auto held = [&](int64_t id) {
    return PollUntil(
        [&] {
          return stack.Scalar(absl::StrCat("SELECT count(*) FROM applications WHERE id = ", id,
                                           " AND status = 'held'")) == 1;
        },
        Deadline(60s));
  };
  ASSERT_TRUE(held(alice));

  const ClientResult shown = stack.RunClient({"get", absl::StrCat(alice)});
  EXPECT_TRUE(absl::StrContains(shown.stdout_text, "status=held")) << shown.stdout_text;
  EXPECT_TRUE(absl::StrContains(shown.stdout_text, " hold_expires_at=")) << shown.stdout_text;
  const ClientResult released = stack.RunClient({"release", absl::StrCat(alice)});
  EXPECT_EQ(released.exit.ToString(), "exit 0") << released.stderr_text;
  EXPECT_TRUE(absl::StrContains(released.stdout_text, "status=released")) << released.stdout_text;
  // The seat went to bob, in the release's own transaction.
  EXPECT_EQ(stack.Scalar(absl::StrCat("SELECT count(*) FROM applications WHERE id = ", bob,
                                      " AND status = 'held'")),
            1);
  const ClientResult confirmed = stack.RunClient({"confirm", absl::StrCat(bob)});
  EXPECT_EQ(confirmed.exit.ToString(), "exit 0") << confirmed.stderr_text;
  EXPECT_TRUE(absl::StrContains(confirmed.stdout_text, "status=approved")) << confirmed.stdout_text;
  const ClientResult late = stack.RunClient({"confirm", absl::StrCat(alice)});
  EXPECT_EQ(late.exit.ToString(), Exit(kExitFailedPrecondition)) << late.stderr_text;
  EXPECT_TRUE(absl::StrContains(late.stderr_text, "only a held application can be confirmed"))
      << late.stderr_text;
  ShutDown(stack);
}

// apply --file: 1,500 lines go as two ApplyBatch calls; each line's outcome
// is printed in file order, an existing one is ALREADY_EXISTS (still exit
// 0), a closed campaign's line is refused (exit 1), and every stored line
// is in the database when the command returns.
TEST(Cli, ApplyFromAFileInBatches) {
  Stack stack("cli_apply_file");
  stack.StartServer();
  campaignq::testing::ScopedTestDir dir;
  ASSERT_TRUE(stack.RunClient({"create-campaign", "--name=import"}).exit.Success());
  const int64_t campaign = stack.Scalar("SELECT max(id) FROM campaigns");
  const std::string campaign_flag = absl::StrCat("--campaign=", campaign);
  ASSERT_TRUE(stack.RunClient({"apply", campaign_flag, "--user=user-7"}).exit.Success());
  {
    std::ofstream users(dir.File("users.txt"));
    for (int i = 0; i < 1500; ++i) users << "user-" << i << "\r\n";
    users << "\n";  // an empty line is skipped
  }
  const ClientResult imported =
      stack.RunClient({"--json", "apply", campaign_flag, "--file=" + dir.File("users.txt")});
  EXPECT_EQ(imported.exit.ToString(), "exit 0") << imported.stderr_text;
  const std::vector<std::string> lines =
      absl::StrSplit(imported.stdout_text, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 1500u) << imported.stderr_text;
  EXPECT_TRUE(absl::StartsWith(lines[0], "{\"line\":1,\"application\":")) << lines[0];
  EXPECT_TRUE(absl::StrContains(lines[0], "\"userId\":\"user-0\"")) << lines[0];
  EXPECT_TRUE(absl::StartsWith(lines[7], "{\"line\":8,\"error\":{\"code\":\"ALREADY_EXISTS\""))
      << lines[7];
  EXPECT_TRUE(absl::StrContains(lines[1499], "\"userId\":\"user-1499\"")) << lines[1499];
  // user-7's earlier application and the 1,499 new ones: all of this campaign.
  EXPECT_EQ(stack.Scalar("SELECT count(*) FROM applications"), 1500);

  // campaign_id,user_id lines, one of them for a closed campaign.
  ASSERT_TRUE(stack.RunClient({"create-campaign", "--name=closed"}).exit.Success());
  const int64_t closed = stack.Scalar("SELECT max(id) FROM campaigns");
  ASSERT_TRUE(stack.RunClient({"close", absl::StrCat(closed)}).exit.Success());
  {
    std::ofstream pairs(dir.File("pairs.csv"));
    pairs << campaign << ",late-1\n" << closed << ",late-2\n";
  }
  const ClientResult mixed = stack.RunClient({"apply", "--file=" + dir.File("pairs.csv")});
  EXPECT_EQ(mixed.exit.ToString(), Exit(kExitFailure)) << mixed.stderr_text;
  EXPECT_TRUE(absl::StrContains(mixed.stdout_text, "line 1: ")) << mixed.stdout_text;
  EXPECT_TRUE(absl::StrContains(mixed.stdout_text, "line 2: error: FAILED_PRECONDITION"))
      << mixed.stdout_text;
  const ClientResult malformed = stack.RunClient({"apply", "--file=" + dir.File("users.txt")});
  EXPECT_EQ(malformed.exit.ToString(), Exit(kExitUsage)) << malformed.stderr_text;
  EXPECT_TRUE(absl::StrContains(malformed.stderr_text, "line 1: want campaign_id,user_id"))
      << malformed.stderr_text;
  ShutDown(stack);
}

// pause-campaign, resume-campaign, retry, retry-failed and delete-campaign
// through the real server and a worker; watch's note on waitlisted.
TEST(Cli, OperatorCommandsPauseResumeRetryAndDelete) {
  Stack stack("cli_operator");
  stack.StartServer();
  stack.StartWorker();
  const ClientResult created = stack.RunClient({"create-campaign", "--name=ops", "--cap=1"});
  ASSERT_TRUE(created.exit.Success()) << created.stderr_text;
  const int64_t campaign = stack.Scalar("SELECT max(id) FROM campaigns");
  const std::string id = absl::StrCat(campaign);
  const std::string campaign_flag = "--campaign=" + id;

  const ClientResult paused = stack.RunClient({"pause-campaign", id});
  EXPECT_EQ(paused.exit.ToString(), "exit 0") << paused.stderr_text;
  EXPECT_TRUE(absl::StrContains(paused.stdout_text, "status=open paused=true"))
      << paused.stdout_text;
  const ClientResult shown = stack.RunClient({"get-campaign", id});
  EXPECT_TRUE(absl::StrContains(shown.stdout_text, "paused=true")) << shown.stdout_text;
  // Applies are still accepted while paused.
  ASSERT_TRUE(stack.RunClient({"apply", campaign_flag, "--user=alice"}).exit.Success());
  const int64_t alice = stack.Scalar("SELECT max(id) FROM applications");
  const ClientResult resumed = stack.RunClient({"resume-campaign", id});
  EXPECT_EQ(resumed.exit.ToString(), "exit 0") << resumed.stderr_text;
  EXPECT_TRUE(absl::StrContains(resumed.stdout_text, "paused=false")) << resumed.stdout_text;
  const ClientResult approved = stack.RunClient({"watch", absl::StrCat(alice), "--timeout=60s"});
  EXPECT_EQ(approved.exit.ToString(), "exit 0") << approved.stderr_text;
  EXPECT_TRUE(absl::StrContains(approved.stdout_text, "status=approved")) << approved.stdout_text;

  // Beyond the cap: waitlisted, which watch says is not final, and keeps
  // following until its --timeout.
  ASSERT_TRUE(stack.RunClient({"apply", campaign_flag, "--user=bob"}).exit.Success());
  const int64_t bob = stack.Scalar("SELECT max(id) FROM applications");
  AwaitStatus(stack, bob, "waitlisted");
  const ClientResult waiting =
      stack.RunClient({"watch", absl::StrCat("--application=", bob), "--timeout=2s"});
  EXPECT_EQ(waiting.exit.ToString(), Exit(kExitDeadlineExceeded)) << waiting.stderr_text;
  EXPECT_TRUE(absl::StrContains(waiting.stdout_text,
                                "waitlisted (not final: a cancelled seat can still approve it)"))
      << waiting.stdout_text;
  EXPECT_TRUE(absl::StrContains(waiting.stdout_text, " position=0 ")) << waiting.stdout_text;

  // The dead-letter queue: one failed application back to pending; a
  // second retry finds it no longer failed.
  MakeFailed(stack, bob);
  const ClientResult retried = stack.RunClient({"retry", absl::StrCat(bob)});
  EXPECT_EQ(retried.exit.ToString(), "exit 0") << retried.stderr_text;
  EXPECT_TRUE(absl::StrContains(retried.stdout_text, "status=pending")) << retried.stdout_text;
  EXPECT_TRUE(absl::StrContains(retried.stdout_text, "attempts=0")) << retried.stdout_text;
  const ClientResult again = stack.RunClient({"retry", absl::StrCat(bob)});
  EXPECT_EQ(again.exit.ToString(), Exit(kExitFailedPrecondition)) << again.stderr_text;
  AwaitStatus(stack, bob, "waitlisted");

  // Bulk: every failed application of the campaign.
  ASSERT_TRUE(stack.RunClient({"apply", campaign_flag, "--user=carol"}).exit.Success());
  const int64_t carol = stack.Scalar("SELECT max(id) FROM applications");
  AwaitStatus(stack, carol, "waitlisted");
  // Its place in the waitlist: bob is ahead (docs/api.md, Place in line).
  const ClientResult placed = stack.RunClient({"get", absl::StrCat(carol)});
  EXPECT_TRUE(absl::StrContains(placed.stdout_text, "status=waitlisted")) << placed.stdout_text;
  EXPECT_TRUE(absl::StrContains(placed.stdout_text, " position=1")) << placed.stdout_text;
  MakeFailed(stack, bob);
  MakeFailed(stack, carol);
  const ClientResult bulk = stack.RunClient({"retry-failed", campaign_flag});
  EXPECT_EQ(bulk.exit.ToString(), "exit 0") << bulk.stderr_text;
  EXPECT_EQ(bulk.stdout_text, absl::StrCat("retried 2 failed applications of campaign ", id));
  EXPECT_EQ(stack.Scalar("SELECT count(*) FROM applications WHERE status = 'failed'"), 0);

  // list --limit stops after N rows across pages.
  const ClientResult listed =
      stack.RunClient({"list", campaign_flag, "--page-size=1", "--limit=2"});
  EXPECT_EQ(listed.exit.ToString(), "exit 0") << listed.stderr_text;
  EXPECT_EQ(std::vector<std::string>(absl::StrSplit(listed.stdout_text, '\n')).size(), 2u)
      << listed.stdout_text;

  const ClientResult campaigns = stack.RunClient({"list-campaigns", "--limit=1"});
  EXPECT_EQ(campaigns.exit.ToString(), "exit 0") << campaigns.stderr_text;
  EXPECT_TRUE(absl::StartsWith(campaigns.stdout_text, absl::StrCat("campaign ", id, " ")))
      << campaigns.stdout_text;

  // delete-campaign refuses an open campaign, deletes a closed one.
  const ClientResult refused = stack.RunClient({"delete-campaign", id});
  EXPECT_EQ(refused.exit.ToString(), Exit(kExitFailedPrecondition)) << refused.stderr_text;
  EXPECT_TRUE(absl::StrContains(refused.stderr_text, "FAILED_PRECONDITION")) << refused.stderr_text;
  EXPECT_EQ(stack.Scalar("SELECT count(*) FROM applications"), 3);
  ASSERT_TRUE(stack.RunClient({"close", id}).exit.Success());
  const ClientResult deleted = stack.RunClient({"delete-campaign", id});
  EXPECT_EQ(deleted.exit.ToString(), "exit 0") << deleted.stderr_text;
  EXPECT_EQ(deleted.stdout_text, absl::StrCat("deleted campaign ", id, " with 3 applications"));
  EXPECT_EQ(stack.Scalar("SELECT count(*) FROM campaigns"), 0);
  EXPECT_EQ(stack.Scalar("SELECT count(*) FROM applications"), 0);
  ShutDown(stack);
}

// --request-id makes create-campaign idempotent (AIP-155); --opens-at and
// --closes-at reach the server.
TEST(Cli, CreateCampaignWithRequestIdAndSchedule) {
  Stack stack("cli_create");
  stack.StartServer();
  const std::string opens = TimeFromNow(absl::Hours(1)), closes = TimeFromNow(absl::Hours(2));
  const std::vector<std::string> create = {"--json",
                                           "create-campaign",
                                           "--name=drop",
                                           "--cap=5",
                                           "--request-id=drop-1",
                                           "--opens-at=" + opens,
                                           "--closes-at=" + closes};
  const ClientResult first = stack.RunClient(create);
  ASSERT_EQ(first.exit.ToString(), "exit 0") << first.stderr_text;
  const ClientResult second = stack.RunClient(create);
  ASSERT_EQ(second.exit.ToString(), "exit 0") << second.stderr_text;
  EXPECT_EQ(second.stdout_text, first.stdout_text);  // the same campaign, id included
  EXPECT_EQ(stack.Scalar("SELECT count(*) FROM campaigns"), 1);
  // --json prints grpcurl's JSON: json names, RFC 3339 timestamps.
  EXPECT_TRUE(absl::StrContains(first.stdout_text, "\"opensAt\":\"" + opens + "\""))
      << first.stdout_text;
  EXPECT_TRUE(absl::StrContains(first.stdout_text, "\"closesAt\":\"" + closes + "\""))
      << first.stdout_text;

  // The same request id for another campaign: ALREADY_EXISTS.
  const ClientResult other =
      stack.RunClient({"create-campaign", "--name=other", "--request-id=drop-1"});
  EXPECT_EQ(other.exit.ToString(), Exit(kExitAlreadyExists)) << other.stderr_text;
  // Without --request-id the CLI makes a fresh one per run.
  ASSERT_TRUE(stack.RunClient({"create-campaign", "--name=plain"}).exit.Success());
  ASSERT_TRUE(stack.RunClient({"create-campaign", "--name=plain"}).exit.Success());
  EXPECT_EQ(stack.Scalar("SELECT count(*) FROM campaigns"), 3);

  // Not open yet: Apply is FAILED_PRECONDITION.
  const int64_t drop = stack.Scalar("SELECT min(id) FROM campaigns");
  const ClientResult early =
      stack.RunClient({"apply", absl::StrCat("--campaign=", drop), "--user=alice"});
  EXPECT_EQ(early.exit.ToString(), Exit(kExitFailedPrecondition)) << early.stderr_text;
  stack.StopServer();
}

// The documented exit codes per status, errors as JSON under --json, and
// per-command help.
TEST(Cli, ExitCodesJsonErrorsAndHelp) {
  Stack stack("cli_exit_codes");
  // Tokens: `printf %s TOKEN | sha256sum`.
  const std::string tokens = stack.dir() + "/tokens";
  std::ofstream(tokens)
      << "329cb08751a86786b306fe8cbe792da697aa85451b685310f417f57d7b0a0fee admin cli-admin\n"
         "d88bcae88b94082680cad60341ee1351f2324aface319809761d3fbef5cb2725 observer cli-observer\n";
  stack.StartServer({"--auth-tokens-file=" + tokens});
  const std::string admin = "--token=cli-admin-token", observer = "--token=cli-observer-token";

  const ClientResult not_found = stack.RunClient({"--json", admin, "get", "--campaign=424242"});
  EXPECT_EQ(not_found.exit.ToString(), Exit(kExitNotFound)) << not_found.stderr_text;
  EXPECT_EQ(not_found.stdout_text, "");
  // One JSON object on stderr, with the server's request id.
  EXPECT_TRUE(absl::StartsWith(not_found.stderr_text, "{\"code\":\"NOT_FOUND\",\"grpc_code\":5,"))
      << not_found.stderr_text;
  EXPECT_TRUE(absl::StrContains(not_found.stderr_text, "\"request_id\":\""))
      << not_found.stderr_text;
  EXPECT_TRUE(absl::StrContains(not_found.stderr_text, "\"exit_code\":15"))
      << not_found.stderr_text;
  EXPECT_FALSE(absl::StrContains(not_found.stderr_text, "[request_id=")) << not_found.stderr_text;

  const ClientResult invalid = stack.RunClient(
      {admin, "create-campaign", "--name=late", "--closes-at=" + TimeFromNow(-absl::Hours(1))});
  EXPECT_EQ(invalid.exit.ToString(), Exit(kExitInvalidArgument)) << invalid.stderr_text;
  ASSERT_TRUE(stack.RunClient({admin, "create-campaign", "--name=x"}).exit.Success());
  const ClientResult denied = stack.RunClient({observer, "close", "--campaign=1"});
  EXPECT_EQ(denied.exit.ToString(), Exit(kExitPermissionDenied)) << denied.stderr_text;
  const ClientResult anonymous = stack.RunClient({"stats"});
  EXPECT_EQ(anonymous.exit.ToString(), Exit(kExitUnauthenticated)) << anonymous.stderr_text;
  const ClientResult unreachable =
      stack.RunClient({"--server=127.0.0.1:1", "--rpc-timeout=5s", admin, "stats"});
  EXPECT_EQ(unreachable.exit.ToString(), Exit(kExitUnavailable)) << unreachable.stderr_text;
  const ClientResult usage = stack.RunClient({"--json", "get"});
  EXPECT_EQ(usage.exit.ToString(), Exit(kExitUsage));
  EXPECT_TRUE(absl::StartsWith(usage.stderr_text, "{\"code\":\"USAGE\"")) << usage.stderr_text;
  // A flag the command does not take is refused before anything is sent.
  const ClientResult refused = stack.RunClient({admin, "list", "--user=alice"});
  EXPECT_EQ(refused.exit.ToString(), Exit(kExitUsage)) << refused.stdout_text;
  EXPECT_TRUE(absl::StrContains(refused.stderr_text, "--user is not a flag of list"))
      << refused.stderr_text;
  EXPECT_EQ(refused.stdout_text, "");

  const ClientResult help = stack.RunClient({"apply", "--help"});
  EXPECT_EQ(help.exit.ToString(), "exit 0");
  EXPECT_TRUE(absl::StartsWith(help.stdout_text, "usage: campaignq [global flags] apply "))
      << help.stdout_text;
  EXPECT_TRUE(absl::StrContains(help.stdout_text, "example:")) << help.stdout_text;
  const ClientResult version = stack.RunClient({"--version"});
  EXPECT_TRUE(absl::StartsWith(version.stdout_text, "campaignq ")) << version.stdout_text;
  stack.StopServer();
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
