#pragma once
// The worker process's life: migrate, run the pool, drain on SIGTERM.

#include <string>

#include "common/db/migrator.h"
#include "worker/worker_pool.h"

namespace campaignq::worker {

class WorkerProcess {
 public:
  // metrics_listen: host:port for GET /metrics; empty: no endpoint.
  WorkerProcess(WorkerOptions options, db::MigrateMode migrate_mode, std::string metrics_listen)
      : options_(std::move(options)),
        migrate_mode_(migrate_mode),
        metrics_listen_(std::move(metrics_listen)) {}

  // Applies or verifies the schema (waiting for the database to come up),
  // prints "campaignq-worker ready" on stdout, works until SIGTERM/SIGINT,
  // lets every thread finish its batch, and returns the exit code: 0 after
  // a clean drain, 2 on a schema mismatch. Signals must already be blocked
  // (BlockTerminationSignals).
  int Run();

 private:
  const WorkerOptions options_;
  const db::MigrateMode migrate_mode_;
  const std::string metrics_listen_;
};

}  // namespace campaignq::worker
