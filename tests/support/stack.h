#pragma once
// A whole campaignq deployment for end-to-end tests: a fresh database, the
// real campaignq-server on a free port, and any number of real
// campaignq-worker processes, each of which can be killed and replaced.
//
// As a deployment runs them, under campaignq's database roles
// (sql/roles.sql): before the first process starts, the stack applies the
// roles (ApplyRoles), runs the migrate step as campaignq_migrate
// (campaignq-server --migrate=auto --migrate-only), applies the roles again
// (the grants), and then starts the server as campaignq_server and workers
// as campaignq_worker, both with --migrate=verify. A test that hands the
// processes a URL of its own (set_process_database_url: through PgBouncer,
// a fault proxy, a role of its own) gets the old way instead: that URL as
// it is, and --migrate=auto.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "campaignq/v1/campaignq.grpc.pb.h"
#include "common/verify/process.h"
#include "support/temp_dir.h"
#include "support/test_postgres.h"

namespace campaignq::testing {

// The kit's launcher (common/verify/process.h) under the tests' names.
using verify::ExitStatus;
using verify::Process;
using verify::ProcessOptions;

struct WorkerFlags {
  WorkerFlags(std::string lock_mode = "skip-locked", int concurrency = 4, int batch_size = 25,
              std::vector<std::string> extra_args = {})
      : lock_mode(std::move(lock_mode)),
        concurrency(concurrency),
        batch_size(batch_size),
        extra_args(std::move(extra_args)) {}
  std::string lock_mode;
  int concurrency;
  int batch_size;
  std::vector<std::string> extra_args;
};

// What a finished CLI run printed and how it ended.
struct ClientResult {
  ExitStatus exit;
  std::string stdout_text;
  std::string stderr_text;
};

class Stack {
 public:
  // Creates a fresh database named after `hint`; starts nothing yet.
  explicit Stack(const std::string& hint);
  // Uses the existing (empty) database at `database_url`, e.g. on a cluster
  // of the test's own (OwnPostgres) that it stops and restarts.
  Stack(const std::string& hint, std::string database_url);
  ~Stack();  // SIGKILLs whatever still runs; describes it when the test failed

  const std::string& database_url() const { return database_url_; }
  const std::string& address() const { return address_; }  // host:port once started

  // The URL the server and workers get (default: their roles' URLs), e.g.
  // the same database through PgBouncer; then they run with --migrate=auto
  // and no roles are applied. Checks still read database_url().
  void set_process_database_url(std::string url) {
    process_database_url_ = std::move(url);
    use_roles_ = false;
  }

  // Starts campaignq-server and waits for its listening line. Restarting
  // reuses the same port. Fails the test on error.
  void StartServer(const std::vector<std::string>& extra_args = {});
  // SIGTERM, and expects exit 0.
  void StopServer();

  // Starts one more worker process (waits for its ready line); returns its
  // index.
  int StartWorker(const WorkerFlags& flags = {});
  void KillWorker(int index, int signal);  // and reaps it
  // SIGTERMs every running worker and expects each to exit 0.
  void StopWorkers();
  int running_workers();

  // The running processes (nullptr when stopped), e.g. to read their lines.
  Process* server() { return server_.get(); }
  Process* worker(int index) { return workers_.at(index).get(); }

  // Whether `campaignq health` reports SERVING (health may be polled while
  // the database fails over).
  bool Serving();

  // A stub on a fresh channel to the server.
  std::unique_ptr<v1::CampaignQueue::Stub> NewStub();

  // Runs the campaignq CLI with --server and --database-url (database_url())
  // set, to completion.
  ClientResult RunClient(std::vector<std::string> args,
                         std::chrono::seconds timeout = std::chrono::seconds(300));

  // The first column of the first row of `query` on the stack's database.
  int64_t Scalar(const std::string& query);

  const std::string& dir() const { return dir_.path(); }

 private:
  // Once, before the first process: roles, migrate step, grants. Fails the
  // test on error.
  void PrepareDatabase();
  // --database-url and --migrate for a server (`server`) or a worker.
  std::vector<std::string> DatabaseArgs(bool server);

  ScopedTestDir dir_;
  std::string database_url_;
  std::string process_database_url_;
  bool use_roles_ = true;
  bool prepared_ = false;  // the roles applied and the schema migrated
  RoleUrls roles_;
  std::string address_;
  int server_starts_ = 0;
  int client_runs_ = 0;
  std::unique_ptr<Process> server_;
  std::vector<std::unique_ptr<Process>> workers_;
};

}  // namespace campaignq::testing
