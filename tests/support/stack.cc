#include "support/stack.h"

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <pqxx/pqxx>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "support/binaries.h"
#include "support/poll.h"
#include "support/test_postgres.h"

namespace campaignq::testing {
namespace {

constexpr auto kStartTimeout = std::chrono::seconds(60);
constexpr char kListeningPrefix[] = "campaignq-server listening on ";

// Children get everything as flags: no CAMPAIGNQ_* setting leaks in from
// the developer's shell.
std::map<std::string, std::string> ChildEnvironment() {
  return {{"CAMPAIGNQ_DATABASE_URL", ""},
          {"CAMPAIGNQ_MIGRATE", ""},
          {"CAMPAIGNQ_LISTEN", ""},
          {"CAMPAIGNQ_SERVER", ""},
          {"CAMPAIGNQ_LOG_LEVEL", "warning"}};
}

std::unique_ptr<Process> StartOrFail(ProcessOptions options) {
  auto process = Process::Start(std::move(options));
  if (!process.ok()) {
    ADD_FAILURE() << process.status();
    return nullptr;
  }
  return *std::move(process);
}

}  // namespace

Stack::Stack(const std::string& hint) : Stack(hint, FreshDatabaseUrl(hint)) {}

Stack::Stack(const std::string& hint, std::string database_url)
    : dir_(hint), database_url_(std::move(database_url)), process_database_url_(database_url_) {}

Stack::~Stack() {
  // Where to look when the test failed: whatever still runs.
  if (!::testing::Test::HasFailure()) return;
  if (server_ != nullptr)
    std::fprintf(stderr, "campaignq tests: %s\n", server_->Describe().c_str());
  for (auto& worker : workers_) {
    if (worker != nullptr)
      std::fprintf(stderr, "campaignq tests: %s\n", worker->Describe().c_str());
  }
}

void Stack::PrepareDatabase() {
  if (prepared_ || !use_roles_) return;
  roles_ = ApplyRoles(database_url_);
  auto migrate = StartOrFail({kServerBinary,
                              {"--database-url=" + roles_.migrate, "--listen=127.0.0.1:0",
                               "--migrate=auto", "--migrate-only"},
                              ChildEnvironment(),
                              dir_.File("migrate.log")});
  ASSERT_NE(migrate, nullptr);
  auto exit = migrate->Wait(Deadline(kStartTimeout));
  ASSERT_TRUE(exit.ok()) << exit.status();
  ASSERT_TRUE(exit->Success()) << "the migrate step as campaignq_migrate ended with "
                               << exit->ToString() << "; " << migrate->Describe();
  ApplyRoles(database_url_);
  prepared_ = true;
}

std::vector<std::string> Stack::DatabaseArgs(bool server) {
  if (!use_roles_) return {"--database-url=" + process_database_url_, "--migrate=auto"};
  return {"--database-url=" + (server ? roles_.server : roles_.worker), "--migrate=verify"};
}

void Stack::StartServer(const std::vector<std::string>& extra_args) {
  PrepareDatabase();
  ASSERT_TRUE(prepared_ || !use_roles_);
  // The first start takes any free port; restarts keep the port so that
  // clients reconnect to the same address.
  const std::string listen = address_.empty() ? "127.0.0.1:0" : address_;
  std::vector<std::string> args = DatabaseArgs(/*server=*/true);
  args.insert(args.end(), {"--listen=" + listen, "--shutdown-grace=5s"});
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  server_ = StartOrFail({kServerBinary, args, ChildEnvironment(),
                         dir_.File(absl::StrCat("server-", server_starts_++, ".log"))});
  ASSERT_NE(server_, nullptr);
  auto line = server_->WaitForLine(kListeningPrefix, Deadline(kStartTimeout));
  ASSERT_TRUE(line.ok()) << line.status();
  address_ = std::string(absl::StripPrefix(*line, kListeningPrefix));
}

void Stack::StopServer() {
  ASSERT_NE(server_, nullptr);
  ASSERT_TRUE(server_->Signal(SIGTERM).ok());
  auto status = server_->Wait(Deadline(std::chrono::seconds(30)));
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(status->Success()) << "server ended with " << status->ToString() << "; "
                                 << server_->Describe();
  server_.reset();
}

int Stack::StartWorker(const WorkerFlags& flags) {
  PrepareDatabase();
  if (!prepared_ && use_roles_) return -1;
  const int index = static_cast<int>(workers_.size());
  std::vector<std::string> args = DatabaseArgs(/*server=*/false);
  args.insert(args.end(),
              {"--lock-mode=" + flags.lock_mode, absl::StrCat("--concurrency=", flags.concurrency),
               absl::StrCat("--batch-size=", flags.batch_size)});
  args.insert(args.end(), flags.extra_args.begin(), flags.extra_args.end());
  auto worker = StartOrFail(
      {kWorkerBinary, args, ChildEnvironment(), dir_.File(absl::StrCat("worker-", index, ".log"))});
  if (worker == nullptr) return -1;
  auto ready = worker->WaitForLine("campaignq-worker ready", Deadline(kStartTimeout));
  EXPECT_TRUE(ready.ok()) << ready.status();
  workers_.push_back(std::move(worker));
  return index;
}

void Stack::KillWorker(int index, int signal) {
  ASSERT_LT(index, static_cast<int>(workers_.size()));
  ASSERT_NE(workers_[index], nullptr);
  ASSERT_TRUE(workers_[index]->Signal(signal).ok());
  auto status = workers_[index]->Wait(Deadline(std::chrono::seconds(30)));
  ASSERT_TRUE(status.ok()) << status.status();
  workers_[index].reset();
}

void Stack::StopWorkers() {
  for (auto& worker : workers_) {
    if (worker == nullptr) continue;
    ASSERT_TRUE(worker->Signal(SIGTERM).ok());
    auto status = worker->Wait(Deadline(std::chrono::seconds(30)));
    ASSERT_TRUE(status.ok()) << status.status();
    EXPECT_TRUE(status->Success())
        << "worker ended with " << status->ToString() << "; " << worker->Describe();
    worker.reset();
  }
}

int Stack::running_workers() {
  int running = 0;
  for (auto& worker : workers_) running += worker != nullptr && worker->Running() ? 1 : 0;
  return running;
}

bool Stack::Serving() {
  return RunClient({"health", "--timeout=2s"}, std::chrono::seconds(30)).exit.Success();
}

std::unique_ptr<v1::CampaignQueue::Stub> Stack::NewStub() {
  return v1::CampaignQueue::NewStub(
      grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
}

ClientResult Stack::RunClient(std::vector<std::string> args, std::chrono::seconds timeout) {
  // The CLI's storm verifies against the database: give it the direct URL.
  args.insert(args.begin(), {"--server=" + address_, "--database-url=" + database_url_});
  const std::string log = dir_.File(absl::StrCat("client-", client_runs_++, ".log"));
  ClientResult result;
  auto client = StartOrFail({kClientBinary, args, ChildEnvironment(), log});
  if (client == nullptr) return result;
  auto exit = client->Wait(Deadline(timeout));
  EXPECT_TRUE(exit.ok()) << "campaignq " << absl::StrJoin(args, " ") << ": " << exit.status();
  if (exit.ok()) result.exit = *exit;
  auto lines = client->AllStdoutLines(Deadline(std::chrono::seconds(10)));
  if (lines.ok()) result.stdout_text = absl::StrJoin(*lines, "\n");
  result.stderr_text = ReadTextFile(log);
  return result;
}

int64_t Stack::Scalar(const std::string& query) {
  pqxx::connection connection(database_url_);
  pqxx::nontransaction txn(connection);
  return txn.exec(query)[0][0].as<int64_t>();
}

}  // namespace campaignq::testing
