// campaignq-worker: claims campaigns with pending applications and decides
// them under each campaign's cap. Run as many processes as you like.

#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "absl/time/time.h"
#include "common/db/transaction.h"
#include "common/flags.h"
#include "common/log.h"
#include "common/shutdown.h"
#include "worker/worker_process.h"
#include "worker/worker_pool.h"

ABSL_FLAG(std::string, database_url,
          campaignq::EnvOr("CAMPAIGNQ_DATABASE_URL", campaignq::kDefaultDatabaseUrl),
          "PostgreSQL URL (env CAMPAIGNQ_DATABASE_URL)");
ABSL_FLAG(std::string, migrate, campaignq::EnvOr("CAMPAIGNQ_MIGRATE", "auto"),
          "auto: apply pending migrations at start; verify: refuse to start on a schema "
          "mismatch; off (env CAMPAIGNQ_MIGRATE)");
ABSL_FLAG(std::string, metrics_listen, campaignq::EnvOr("CAMPAIGNQ_METRICS_LISTEN", ""),
          "host:port to serve Prometheus metrics on (GET /metrics); empty: off "
          "(env CAMPAIGNQ_METRICS_LISTEN)");
ABSL_FLAG(bool, pooler_mode, campaignq::EnvFlag("CAMPAIGNQ_POOLER_MODE"),
          "PgBouncer transaction pooling: no prepared statements, no session settings, "
          "polling instead of LISTEN (env CAMPAIGNQ_POOLER_MODE=1)");
ABSL_FLAG(int, concurrency, 4, "worker threads, one database connection each");
ABSL_FLAG(int, batch_size, 100, "applications decided per transaction, at most");
ABSL_FLAG(std::string, lock_mode, "skip-locked",
          "how to lock a campaign: skip-locked (never wait), nowait (fail fast, back off), "
          "blocking (wait in line; for comparison)");
ABSL_FLAG(absl::Duration, poll_interval, absl::Seconds(2),
          "longest idle wait without a NOTIFY before looking for work again");
ABSL_FLAG(int, max_attempts, 3,
          "deterministic errors an application may cause before it is marked failed");

int main(int argc, char** argv) {
  campaignq::BlockTerminationSignals();
  absl::SetProgramUsageMessage("campaignq-worker [flags]: decides pending applications");
  auto command_line = campaignq::ParseCommandLine(argc, argv);
  if (!command_line.ok()) {
    std::fprintf(stderr, "campaignq-worker: %s (see --help)\n",
                 std::string(command_line.status().message()).c_str());
    return campaignq::kExitUsage;
  }
  if (command_line->help) {
    std::printf("%s\n", absl::ProgramUsageMessage().data());
    return 0;
  }

  campaignq::worker::WorkerOptions options;
  options.database_url = absl::GetFlag(FLAGS_database_url);
  options.concurrency = absl::GetFlag(FLAGS_concurrency);
  options.batch_size = absl::GetFlag(FLAGS_batch_size);
  options.max_attempts = absl::GetFlag(FLAGS_max_attempts);
  options.poll_interval = absl::ToChronoMilliseconds(absl::GetFlag(FLAGS_poll_interval));
  auto lock_mode = campaignq::queue::ParseLockMode(absl::GetFlag(FLAGS_lock_mode));
  auto migrate_mode = campaignq::db::ParseMigrateMode(absl::GetFlag(FLAGS_migrate));
  for (const absl::Status& status : {lock_mode.status(), migrate_mode.status()}) {
    if (!status.ok()) {
      std::fprintf(stderr, "campaignq-worker: %s\n", std::string(status.message()).c_str());
      return campaignq::kExitUsage;
    }
  }
  if (options.concurrency < 1 || options.batch_size < 1 || options.max_attempts < 1 ||
      options.poll_interval.count() < 1) {
    std::fprintf(stderr,
                 "campaignq-worker: --concurrency, --batch-size, --max-attempts and "
                 "--poll-interval must be positive\n");
    return campaignq::kExitUsage;
  }
  options.lock_mode = *lock_mode;
  options.connect.pooler_safe = absl::GetFlag(FLAGS_pooler_mode);

  campaignq::worker::WorkerProcess process(options, *migrate_mode,
                                           absl::GetFlag(FLAGS_metrics_listen));
  return process.Run();
}
