#include "worker/startup.h"

#include <cstdio>

#include "common/db/startup.h"
#include "common/flags.h"
#include "common/log.h"
#include "common/shutdown.h"

namespace campaignq::worker {

int WorkerProcess::Run() {
  const absl::Status schema = db::PrepareSchema(options_.database_url, options_.connect,
                                                migrate_mode_);
  if (schema.code() == absl::StatusCode::kCancelled) return 0;  // stopped while waiting
  if (!schema.ok()) {
    LogError("worker", "schema: ", schema.message());
    return kExitUsage;
  }
  WorkerPool pool(options_);
  pool.Start();
  LogInfo("worker", "started: concurrency=", options_.concurrency, " batch_size=",
          options_.batch_size, " lock_mode=", LockModeName(options_.lock_mode));
  std::printf("campaignq-worker ready\n");
  std::fflush(stdout);
  const int signal_number = WaitForTerminationSignal();
  LogInfo("worker", "signal ", signal_number, ": finishing current batches");
  pool.Stop();
  const WorkerCounters& c = pool.counters();
  LogInfo("worker", "stopped: batches=", c.batches.load(), " approved=", c.approved.load(),
          " waitlisted=", c.waitlisted.load(), " rejected=", c.rejected.load(),
          " failed=", c.failed.load(), " transient_errors=", c.transient_errors.load(),
          " lock_refusals=", c.lock_refusals.load());
  return 0;
}

}  // namespace campaignq::worker
