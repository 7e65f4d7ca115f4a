#include "worker/worker_flags.h"

#include <string>

#include "absl/time/time.h"
#include "common/flags.h"

CAMPAIGNQ_FLAG(int, concurrency, "CAMPAIGNQ_CONCURRENCY", 4,
               "worker threads, one database connection each");
CAMPAIGNQ_FLAG(int, batch_size, "CAMPAIGNQ_BATCH_SIZE", 100,
               "applications decided per transaction, at most");
CAMPAIGNQ_FLAG(int, max_campaigns_per_batch, "CAMPAIGNQ_MAX_CAMPAIGNS_PER_BATCH", 64,
               "capped campaigns one transaction may lock (in id order, skip-locked mode), at "
               "most; used when campaigns have fewer pending applications than --batch-size");
CAMPAIGNQ_FLAG(std::string, lock_mode, "CAMPAIGNQ_LOCK_MODE", "skip-locked",
               "how to lock a campaign: skip-locked (never wait), nowait (fail fast, back off), "
               "blocking (wait in line; for comparison)");
CAMPAIGNQ_FLAG(absl::Duration, poll_interval, "CAMPAIGNQ_POLL_INTERVAL", absl::Seconds(2),
               "longest idle wait without a NOTIFY before looking for work again");
CAMPAIGNQ_FLAG(absl::Duration, decide_window, "CAMPAIGNQ_DECIDE_WINDOW", absl::ZeroDuration(),
               "woken for a campaign's new Applies, wait this much longer (0 to 1ms) for more and "
               "decide them all in one transaction: fewer commits, each decision up to this much "
               "later");
CAMPAIGNQ_FLAG(int, max_attempts, "CAMPAIGNQ_MAX_ATTEMPTS", 3,
               "deterministic errors an application may cause before it is marked failed");

namespace campaignq::worker {
namespace {

// The longest --decide-window: every decision may wait that long, and the
// latency targets are a few milliseconds.
constexpr absl::Duration kMaxDecideWindow = absl::Milliseconds(1);

}  // namespace

absl::StatusOr<WorkerStackOptions> ReadWorkerFlags() {
  WorkerStackOptions options;
  absl::StatusOr<ProcessOptions> process = ReadProcessFlags();
  if (!process.ok()) return process.status();
  options.process = *std::move(process);
  WorkerOptions& pool = options.pool;
  pool.concurrency = absl::GetFlag(FLAGS_concurrency);
  pool.batch_size = absl::GetFlag(FLAGS_batch_size);
  pool.max_attempts = absl::GetFlag(FLAGS_max_attempts);
  pool.max_campaigns_per_batch = absl::GetFlag(FLAGS_max_campaigns_per_batch);
  pool.poll_interval = absl::ToChronoMilliseconds(absl::GetFlag(FLAGS_poll_interval));
  const absl::Duration decide_window = absl::GetFlag(FLAGS_decide_window);
  if (decide_window < absl::ZeroDuration() || decide_window > kMaxDecideWindow) {
    return absl::InvalidArgumentError("--decide-window must be between 0 and 1ms");
  }
  pool.decide_window = absl::ToChronoMicroseconds(decide_window);
  absl::StatusOr<queue::LockMode> lock_mode = queue::ParseLockMode(absl::GetFlag(FLAGS_lock_mode));
  if (!lock_mode.ok()) return lock_mode.status();
  pool.lock_mode = *lock_mode;
  if (pool.concurrency < 1 || pool.batch_size < 1 || pool.max_attempts < 1 ||
      pool.max_campaigns_per_batch < 1 || pool.poll_interval.count() < 1) {
    return absl::InvalidArgumentError(
        "--concurrency, --batch-size, --max-campaigns-per-batch, --max-attempts and "
        "--poll-interval must be positive");
  }
  return options;
}

}  // namespace campaignq::worker
