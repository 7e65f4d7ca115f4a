#include "worker/startup.h"

#include <signal.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "common/db/startup.h"
#include "common/log.h"
#include "common/shutdown.h"

namespace campaignq::worker {

int WorkerProcess::Run() {
  std::atomic<bool> signalled{false};
  std::atomic<int> signal_number{0};
  // The signal may arrive while the database is still coming up.
  std::thread signal_waiter([&] {
    signal_number = WaitForTerminationSignal();
    signalled = true;
  });
  const absl::Status schema = db::PrepareSchema(options_.database_url, options_.connect,
                                                migrate_mode_, [&] { return signalled.load(); });
  if (!schema.ok()) {
    LogError("worker", "schema: ", schema.message());
    if (!signalled) kill(getpid(), SIGTERM);  // wake the signal thread
    signal_waiter.join();
    return signalled && schema.code() == absl::StatusCode::kCancelled ? 0 : 2;
  }
  WorkerPool pool(options_);
  pool.Start();
  LogInfo("worker", "started: concurrency=", options_.concurrency, " batch_size=",
          options_.batch_size, " lock_mode=", LockModeName(options_.lock_mode));
  std::printf("campaignq-worker ready\n");
  std::fflush(stdout);
  signal_waiter.join();
  LogInfo("worker", "signal ", signal_number.load(), ": finishing current batches");
  pool.Stop();
  const WorkerCounters& c = pool.counters();
  LogInfo("worker", "stopped: batches=", c.batches.load(), " approved=", c.approved.load(),
          " waitlisted=", c.waitlisted.load(), " rejected=", c.rejected.load(),
          " failed=", c.failed.load(), " transient_errors=", c.transient_errors.load(),
          " lock_refusals=", c.lock_refusals.load());
  return 0;
}

}  // namespace campaignq::worker
