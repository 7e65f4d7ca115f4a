#pragma once
// Everything campaignq-worker runs, as one object: schema preparation, the
// metrics endpoint and the WorkerPool (its threads and its LISTEN
// connection). The binary's main and the tests build it the same way.

#include <memory>
#include <mutex>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "common/process/process_flags.h"
#include "worker/worker_pool.h"

namespace campaignq::worker {

struct WorkerStackOptions {
  // --database-url, --migrate, --metrics-listen, --pooler-mode. They win
  // over pool.database_url and pool.connect.pooler_safe, which the stack
  // sets from them.
  ProcessOptions process;
  WorkerOptions pool;
};

class WorkerStack {
 public:
  explicit WorkerStack(WorkerStackOptions options);
  WorkerStack(const WorkerStack&) = delete;
  WorkerStack& operator=(const WorkerStack&) = delete;
  ~WorkerStack();  // Stop()s

  // Applies or verifies the schema (retrying while the database is
  // unreachable), starts the metrics endpoint, then the pool. Errors,
  // everything started so far stopped again:
  //   CANCELLED            SIGTERM/SIGINT arrived while waiting for the
  //                        database (they must be blocked, see
  //                        common/shutdown.h)
  //   FAILED_PRECONDITION  the schema does not match, or the database cannot
  //                        be used; also when Start() was called before
  //   INVALID_ARGUMENT     a malformed --database-url or --metrics-listen
  //   UNAVAILABLE          cannot listen on --metrics-listen
  absl::Status Start();

  // Lets every thread finish its current batch (never interrupts a
  // transaction), stops the metrics endpoint and logs the totals.
  // Idempotent; fine without Start or after a failed Start.
  void Stop();

  // After a successful Start, until Stop: "host:port" of GET /metrics
  // (empty without --metrics-listen).
  const std::string& metrics_address() const { return metrics_address_; }

 private:
  struct Running;

  absl::Status StartLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const WorkerStackOptions options_;
  std::mutex mutex_;
  bool started_ ABSL_GUARDED_BY(mutex_) = false;
  std::unique_ptr<Running> running_ ABSL_GUARDED_BY(mutex_);
  std::string metrics_address_;
};

}  // namespace campaignq::worker
