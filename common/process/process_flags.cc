#include "common/process/process_flags.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "common/db/startup.h"
#include "common/exit_codes.h"
#include "common/flags.h"
#include "common/log.h"

CAMPAIGNQ_FLAG(std::string, database_url, "CAMPAIGNQ_DATABASE_URL", campaignq::kDefaultDatabaseUrl,
               "PostgreSQL URL");
CAMPAIGNQ_FLAG(std::string, migrate, "CAMPAIGNQ_MIGRATE", "auto",
               "auto: apply pending schema migrations at start; verify: refuse to start unless the "
               "schema matches; off: do nothing");
CAMPAIGNQ_FLAG(bool, migrate_with_running_processes, "CAMPAIGNQ_MIGRATE_WITH_RUNNING_PROCESSES",
               false,
               "--migrate=auto applies a stop-first migration although campaignq processes use the "
               "database (refused otherwise): only when they are known not to be of the previous "
               "release");
CAMPAIGNQ_FLAG(std::string, metrics_listen, "CAMPAIGNQ_METRICS_LISTEN", "",
               "host:port to serve Prometheus metrics on (GET /metrics); port 0 picks a free one; "
               "empty: off");
CAMPAIGNQ_FLAG(bool, pooler_mode, "CAMPAIGNQ_POOLER_MODE", false,
               "PgBouncer transaction pooling: no prepared statements, no session settings, "
               "polling instead of LISTEN");
CAMPAIGNQ_FLAG(absl::Duration, idle_in_transaction_timeout, "CAMPAIGNQ_IDLE_IN_TRANSACTION_TIMEOUT",
               absl::Seconds(10),
               "PostgreSQL ends a session of ours that sits this long inside a transaction, "
               "releasing its locks (a frozen process cannot hold a campaign longer)");

namespace campaignq {

std::optional<int> ParseFlagsOrExit(int argc, char** argv, absl::string_view program,
                                    absl::string_view usage) {
  absl::StatusOr<CommandLine> command_line = ParseCommandLine(argc, argv);
  if (command_line.ok() && command_line->help) {
    std::printf("%s\n\n%s", std::string(usage).c_str(), FlagHelp().c_str());
    return kExitOk;
  }
  if (command_line.ok() && command_line->version) {
    std::printf("%s\n", VersionLine(program).c_str());
    return kExitOk;
  }
  absl::Status status = command_line.status();
  if (status.ok() && command_line->positional.size() > 1) {
    status = absl::InvalidArgumentError(
        absl::StrCat("unexpected argument '", command_line->positional[1], "'"));
  }
  if (status.ok()) return std::nullopt;
  std::fprintf(stderr, "%s: %s (see --help)\n", std::string(program).c_str(),
               std::string(status.message()).c_str());
  return kExitUsage;
}

absl::StatusOr<ProcessOptions> ReadProcessFlags() {
  ProcessOptions options;
  options.database_url = absl::GetFlag(FLAGS_database_url);
  absl::StatusOr<db::MigrateMode> migrate = db::ParseMigrateMode(absl::GetFlag(FLAGS_migrate));
  if (!migrate.ok()) return migrate.status();
  options.migrate = *migrate;
  if (absl::GetFlag(FLAGS_migrate_with_running_processes)) {
    options.migrate_while_running = db::WhileRunning::kApply;
  }
  options.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  options.pooler_mode = absl::GetFlag(FLAGS_pooler_mode);
  const absl::Duration idle = absl::GetFlag(FLAGS_idle_in_transaction_timeout);
  if (idle < absl::Milliseconds(1)) {
    return absl::InvalidArgumentError("--idle-in-transaction-timeout must be at least 1ms");
  }
  options.idle_in_transaction_timeout_ms = static_cast<int>(absl::ToInt64Milliseconds(idle));
  if (options.database_url.empty()) return absl::InvalidArgumentError("--database-url is empty");
  return options;
}

absl::Status PrepareSchemaAtStart(const ProcessOptions& process,
                                  const db::ConnectOptions& connect) {
  const absl::Status status = db::PrepareSchema(process.database_url, connect, process.migrate,
                                                process.migrate_while_running);
  if (status.ok() || status.code() == absl::StatusCode::kCancelled ||
      status.code() == absl::StatusCode::kInvalidArgument) {
    return status;
  }
  return absl::FailedPreconditionError(absl::StrCat("cannot use the database: ", status.message()));
}

std::string BoundAddress(const std::string& listen, int port) {
  return absl::StrCat(listen.substr(0, listen.rfind(':')), ":", port);
}

int ReportUsageError(absl::string_view program, const absl::Status& status) {
  std::fprintf(stderr, "%s: %s\n", std::string(program).c_str(),
               std::string(status.message()).c_str());
  return kExitUsage;
}

int ExitCodeForStartFailure(absl::string_view program, const absl::Status& status) {
  if (status.code() == absl::StatusCode::kCancelled) {
    LogInfo(program, "stopped before starting: ", status.message());
    return kExitOk;
  }
  LogError(program, "cannot start: ", status.ToString());
  std::fprintf(stderr, "%s: %s\n", std::string(program).c_str(),
               std::string(status.message()).c_str());
  const bool usage = status.code() == absl::StatusCode::kFailedPrecondition ||
                     status.code() == absl::StatusCode::kInvalidArgument;
  return usage ? kExitUsage : kExitFailure;
}

}  // namespace campaignq
