#include "server/server_flags.h"

#include <cstdio>
#include <cstdlib>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "common/flags.h"

ABSL_FLAG(std::string, database_url,
          campaignq::EnvOr("CAMPAIGNQ_DATABASE_URL", campaignq::kDefaultDatabaseUrl),
          "PostgreSQL URL (env CAMPAIGNQ_DATABASE_URL)");
ABSL_FLAG(std::string, listen, campaignq::EnvOr("CAMPAIGNQ_LISTEN", "127.0.0.1:50051"),
          "host:port to serve gRPC on; port 0 picks a free one (env CAMPAIGNQ_LISTEN)");
ABSL_FLAG(std::string, migrate, campaignq::EnvOr("CAMPAIGNQ_MIGRATE", "auto"),
          "auto: apply pending schema migrations; verify: refuse to start unless the schema "
          "matches; off: do nothing (env CAMPAIGNQ_MIGRATE)");
ABSL_FLAG(bool, migrate_only, false,
          "apply (--migrate=auto) or check (--migrate=verify) the schema, then exit 0 "
          "without serving: the one-shot migrate step of a deployment");
ABSL_FLAG(std::string, metrics_listen, campaignq::EnvOr("CAMPAIGNQ_METRICS_LISTEN", ""),
          "host:port to serve Prometheus metrics on (GET /metrics); empty: off "
          "(env CAMPAIGNQ_METRICS_LISTEN)");
ABSL_FLAG(bool, pooler_mode, campaignq::EnvFlag("CAMPAIGNQ_POOLER_MODE"),
          "PgBouncer transaction pooling: no prepared statements, no session settings, "
          "polling instead of LISTEN (env CAMPAIGNQ_POOLER_MODE=1)");
ABSL_FLAG(int, pool_size, 16, "maximum PostgreSQL connections for request handlers");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "on SIGTERM, how long in-flight calls may take to finish");
ABSL_FLAG(int, max_threads, 512,
          "bound on gRPC's sync handler threads; each in-flight call (watches included) "
          "holds one, and a call beyond the bound is refused with RESOURCE_EXHAUSTED. Calls "
          "wait for one of --pool-size connections, so threads are cheap waiters here");

namespace campaignq::server {

absl::StatusOr<ServerOptions> ParseServerFlags(int argc, char** argv) {
  absl::StatusOr<CommandLine> command_line = ParseCommandLine(argc, argv);
  if (!command_line.ok()) return command_line.status();
  if (command_line->help) {
    std::printf("%s\n", absl::ProgramUsageMessage().data());
    std::exit(0);
  }
  if (command_line->positional.size() > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("unexpected argument '", command_line->positional[1], "'"));
  }

  ServerOptions options;
  options.database_url = absl::GetFlag(FLAGS_database_url);
  options.listen = absl::GetFlag(FLAGS_listen);
  absl::StatusOr<db::MigrateMode> migrate = db::ParseMigrateMode(absl::GetFlag(FLAGS_migrate));
  if (!migrate.ok()) return migrate.status();
  options.migrate = *migrate;
  options.migrate_only = absl::GetFlag(FLAGS_migrate_only);
  options.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  options.pooler_mode = absl::GetFlag(FLAGS_pooler_mode);
  if (options.migrate_only && options.migrate == db::MigrateMode::kOff) {
    return absl::InvalidArgumentError("--migrate-only needs --migrate=auto or --migrate=verify");
  }
  options.pool_size = absl::GetFlag(FLAGS_pool_size);
  options.shutdown_grace = absl::GetFlag(FLAGS_shutdown_grace);
  options.max_threads = absl::GetFlag(FLAGS_max_threads);
  if (options.database_url.empty()) return absl::InvalidArgumentError("--database-url is empty");
  if (options.listen.empty() || options.listen.find(':') == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("--listen must be host:port, not '", options.listen, "'"));
  }
  if (options.pool_size < 1 || options.pool_size > 1000) {
    return absl::InvalidArgumentError("--pool-size must be between 1 and 1000");
  }
  if (options.shutdown_grace < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--shutdown-grace must not be negative");
  }
  // gRPC's sync server needs a few threads to poll; below that it stalls.
  if (options.max_threads < 4) return absl::InvalidArgumentError("--max-threads must be >= 4");
  return options;
}

}  // namespace campaignq::server
