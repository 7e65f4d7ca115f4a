// e2e tier: the real campaignq-server, campaignq-worker processes and the
// campaignq CLI against a fresh database, synchronised on the lines the
// binaries print and on their exit statuses.

#include <signal.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "support/binaries.h"
#include "support/poll.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "support/test_postgres.h"

namespace campaignq {
namespace {

using namespace std::chrono_literals;
using testing::Deadline;
using testing::ExitStatus;
using testing::Process;
using testing::ProcessOptions;

constexpr char kListeningPrefix[] = "campaignq-server listening on ";
constexpr char kWorkerReady[] = "campaignq-worker ready";

struct ClientResult {
  ExitStatus exit;
  std::string stdout_text;
  std::string stderr_text;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class EndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = testing::FreshDatabaseUrl(
        ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }

  // Environment for children: no CAMPAIGNQ_* defaults leak in from the
  // developer's shell; everything is passed as flags.
  static std::map<std::string, std::string> CleanEnv() {
    return {{"CAMPAIGNQ_DATABASE_URL", ""}, {"CAMPAIGNQ_MIGRATE", ""},
            {"CAMPAIGNQ_LISTEN", ""},       {"CAMPAIGNQ_SERVER", ""}};
  }

  std::unique_ptr<Process> Spawn(const char* binary, std::vector<std::string> args,
                                 const std::string& log_name) {
    ProcessOptions options;
    options.binary = binary;
    options.args = std::move(args);
    options.env = CleanEnv();
    options.stderr_path = dir_.File(log_name);
    auto process = Process::Start(std::move(options));
    EXPECT_TRUE(process.ok()) << process.status();
    if (!process.ok()) throw std::runtime_error(process.status().ToString());
    return *std::move(process);
  }

  // Starts the server on a free port and returns once it serves.
  void StartServer(const std::string& migrate = "auto") {
    server_ = Spawn(testing::kServerBinary,
                    {"--database-url=" + url_, "--listen=127.0.0.1:0", "--migrate=" + migrate},
                    "server.stderr");
    auto line = server_->WaitForLine(kListeningPrefix, Deadline(60s));
    ASSERT_TRUE(line.ok()) << line.status();
    address_ = line->substr(sizeof(kListeningPrefix) - 1);
    ASSERT_TRUE(absl::StartsWith(address_, "127.0.0.1:")) << *line;
  }

  // Starts a worker and returns once its threads run.
  Process* StartWorker(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--database-url=" + url_, "--migrate=verify", "--concurrency=4",
                                  "--batch-size=50"};
    args.insert(args.end(), extra.begin(), extra.end());
    workers_.push_back(
        Spawn(testing::kWorkerBinary, args, absl::StrCat("worker-", workers_.size(), ".stderr")));
    auto line = workers_.back()->WaitForLine(kWorkerReady, Deadline(60s));
    EXPECT_TRUE(line.ok()) << line.status();
    return workers_.back().get();
  }

  // Runs the CLI to completion.
  ClientResult RunClient(std::vector<std::string> args, std::chrono::seconds timeout = 300s) {
    args.insert(args.begin(), "--server=" + address_);
    const std::string log = dir_.File(absl::StrCat("client-", ++clients_, ".stderr"));
    auto client = Spawn(testing::kClientBinary, args, absl::StrCat("client-", clients_, ".stderr"));
    ClientResult result;
    auto exit = client->Wait(Deadline(timeout));
    EXPECT_TRUE(exit.ok()) << "campaignq " << absl::StrJoin(args, " ") << ": " << exit.status();
    if (exit.ok()) result.exit = *exit;
    auto lines = client->AllStdoutLines(Deadline(10s));
    if (lines.ok()) result.stdout_text = absl::StrJoin(*lines, "\n");
    result.stderr_text = ReadFile(log);
    return result;
  }

  // SIGTERM, then a clean exit 0 within the deadline.
  static void ExpectCleanShutdown(Process* process) {
    ASSERT_TRUE(process->Signal(SIGTERM).ok());
    auto exit = process->Wait(Deadline(60s));
    ASSERT_TRUE(exit.ok()) << exit.status();
    EXPECT_TRUE(exit->Success()) << exit->ToString() << "; " << process->Describe();
  }

  void ShutDownEverything() {
    for (auto& worker : workers_) ExpectCleanShutdown(worker.get());
    if (server_) ExpectCleanShutdown(server_.get());
  }

  int64_t Scalar(const std::string& query) {
    pqxx::connection connection(url_);
    pqxx::nontransaction txn(connection);
    return txn.exec(query)[0][0].as<int64_t>();
  }

  // The invariants straight from the tables: the CLI is not the only judge.
  void ExpectDatabaseInvariants() {
    EXPECT_EQ(Scalar("SELECT count(*) FROM applications WHERE status = 'pending'"), 0);
    EXPECT_EQ(Scalar("SELECT count(*) FROM campaigns c WHERE approved_count <> "
                     "(SELECT count(*) FROM applications a WHERE a.campaign_id = c.id "
                     "AND a.status = 'approved')"),
              0);
    EXPECT_EQ(Scalar("SELECT count(*) FROM campaigns WHERE max_participants IS NOT NULL "
                     "AND approved_count > max_participants"),
              0);
    // First come, first served is left to the storm's checker: it knows
    // which Applies overlapped in time. Id order alone is not arrival order
    // for overlapping Applies (an id is taken at INSERT, visible at COMMIT),
    // so "no approved id above a waitlisted id" does not hold under load.
  }

  testing::ScopedTestDir dir_;
  std::string url_;
  std::string address_;
  std::unique_ptr<Process> server_;
  std::vector<std::unique_ptr<Process>> workers_;
  int clients_ = 0;
};

TEST_F(EndToEnd, StormWithWaitlistKeepsEveryInvariant) {
  StartServer();
  for (int i = 0; i < 3; ++i) StartWorker();
  const ClientResult storm = RunClient({"storm", "--campaigns=4", "--applicants=400", "--cap=25",
                                        "--waitlist=true", "--concurrency=32", "--json"});
  EXPECT_EQ(storm.exit.ToString(), "exit 0") << storm.stdout_text << "\n" << storm.stderr_text;
  EXPECT_TRUE(absl::StartsWith(storm.stdout_text, "{")) << storm.stdout_text;
  EXPECT_EQ(Scalar("SELECT count(*) FROM campaigns"), 4);
  EXPECT_EQ(Scalar("SELECT count(*) FROM applications WHERE status = 'approved'"), 4 * 25);
  ExpectDatabaseInvariants();
  ShutDownEverything();
}

TEST_F(EndToEnd, StormWithoutWaitlistRejectsTheRestAsFull) {
  StartServer();
  StartWorker({"--lock-mode=nowait"});
  StartWorker({"--lock-mode=skip-locked"});
  const ClientResult storm = RunClient({"storm", "--campaigns=3", "--applicants=300", "--cap=10",
                                        "--waitlist=false", "--concurrency=32", "--json"});
  EXPECT_EQ(storm.exit.ToString(), "exit 0") << storm.stdout_text << "\n" << storm.stderr_text;
  EXPECT_EQ(Scalar("SELECT count(*) FROM applications WHERE status = 'waitlisted'"), 0);
  EXPECT_EQ(Scalar("SELECT count(*) FROM applications WHERE status = 'approved'"), 3 * 10);
  ExpectDatabaseInvariants();
  ShutDownEverything();
}

TEST_F(EndToEnd, AWorkerKilledMidStormLosesNothing) {
  StartServer();
  Process* doomed = StartWorker({"--batch-size=5"});
  StartWorker({"--batch-size=5"});
  ProcessOptions options;
  options.binary = testing::kClientBinary;
  options.args = {"--server=" + address_, "storm", "--campaigns=4", "--applicants=600", "--cap=30",
                  "--concurrency=32", "--json"};
  options.env = CleanEnv();
  options.stderr_path = dir_.File("storm.stderr");
  auto storm = Process::Start(options);
  ASSERT_TRUE(storm.ok()) << storm.status();
  // Kill one worker once decisions are under way (its open batch, if any,
  // rolls back and the other worker takes the campaign).
  ASSERT_TRUE(testing::PollUntil(
      [&] { return Scalar("SELECT count(*) FROM applications WHERE status <> 'pending'") > 0; },
      Deadline(120s)))
      << "no application was ever decided";
  ASSERT_TRUE(doomed->Signal(SIGKILL).ok());
  auto killed = doomed->Wait(Deadline(30s));
  ASSERT_TRUE(killed.ok()) << killed.status();
  EXPECT_EQ(killed->signal, SIGKILL);

  auto exit = (*storm)->Wait(Deadline(300s));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_TRUE(exit->Success()) << exit->ToString() << "\n" << ReadFile(dir_.File("storm.stderr"));
  ExpectDatabaseInvariants();
  workers_.erase(workers_.begin());  // the killed one is reaped already
  ShutDownEverything();
}

TEST_F(EndToEnd, CliCreateApplyWatchAndDuplicate) {
  StartServer();
  StartWorker();
  const ClientResult created = RunClient({"--json", "create-campaign", "--name=launch", "--cap=1"});
  ASSERT_TRUE(created.exit.Success()) << created.stderr_text;
  const int64_t campaign_id = Scalar("SELECT max(id) FROM campaigns");
  ASSERT_GT(campaign_id, 0);

  const std::string campaign_flag = absl::StrCat("--campaign=", campaign_id);
  const ClientResult applied = RunClient({"--json", "apply", campaign_flag, "--user=alice"});
  ASSERT_TRUE(applied.exit.Success()) << applied.stderr_text;
  const int64_t application_id = Scalar("SELECT max(id) FROM applications");
  const ClientResult watched = RunClient(
      {"watch", absl::StrCat("--application=", application_id), "--timeout=60s", "--json"});
  EXPECT_TRUE(watched.exit.Success()) << watched.stderr_text;
  EXPECT_TRUE(absl::StrContains(watched.stdout_text, "APPROVED")) << watched.stdout_text;

  const ClientResult duplicate = RunClient({"apply", campaign_flag, "--user=alice"});
  EXPECT_EQ(duplicate.exit.ToString(), "exit 1");
  EXPECT_TRUE(absl::StrContains(duplicate.stderr_text, "ALREADY_EXISTS")) << duplicate.stderr_text;
  EXPECT_EQ(Scalar("SELECT count(*) FROM applications"), 1);
  ShutDownEverything();
}

TEST_F(EndToEnd, ServerRefusesAnUnmigratedDatabaseInVerifyMode) {
  auto server = Spawn(testing::kServerBinary,
                      {"--database-url=" + url_, "--listen=127.0.0.1:0", "--migrate=verify"},
                      "server.stderr");
  auto exit = server->Wait(Deadline(60s));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_TRUE(exit->exited && exit->code != 0) << exit->ToString();
  EXPECT_TRUE(server->StdoutLines().empty() ||
              !absl::StartsWith(server->StdoutLines().front(), kListeningPrefix));
}

}  // namespace
}  // namespace campaignq
