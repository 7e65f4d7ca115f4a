#include "server/server_flags.h"

#include "absl/strings/str_cat.h"
#include "common/flags.h"
#include "server/console/console_auth.h"

CAMPAIGNQ_FLAG(std::string, listen, "CAMPAIGNQ_LISTEN", "127.0.0.1:50051",
               "host:port to serve gRPC on; port 0 picks a free one");
CAMPAIGNQ_FLAG(bool, migrate_only, "CAMPAIGNQ_MIGRATE_ONLY", false,
               "apply (--migrate=auto) or check (--migrate=verify) the schema, then exit 0 "
               "without serving: the one-shot migrate step of a deployment");
CAMPAIGNQ_FLAG(int, pool_size, "CAMPAIGNQ_POOL_SIZE", 16,
               "maximum PostgreSQL connections for request handlers");
CAMPAIGNQ_FLAG(absl::Duration, shutdown_grace, "CAMPAIGNQ_SHUTDOWN_GRACE", absl::Seconds(10),
               "on SIGTERM, how long in-flight calls may take to finish");
CAMPAIGNQ_FLAG(int, max_threads, "CAMPAIGNQ_MAX_THREADS", 512,
               "bound on gRPC's sync handler threads; each in-flight call (watches included) "
               "holds one, and a call beyond the bound is refused with RESOURCE_EXHAUSTED. Calls "
               "wait for one of --pool-size connections, so threads are cheap waiters here");
// The web console (server/console, docs/console.md).
CAMPAIGNQ_FLAG(std::string, console_listen, "CAMPAIGNQ_CONSOLE_LISTEN", "",
               "host:port of the web console (port 0 picks a free one); empty: no console. "
               "Loopback addresses only until authentication is configured");

namespace campaignq::server {

absl::StatusOr<ServerOptions> ReadServerFlags() {
  ServerOptions options;
  absl::StatusOr<ProcessOptions> process = ReadProcessFlags();
  if (!process.ok()) return process.status();
  options.process = *std::move(process);
  options.listen = absl::GetFlag(FLAGS_listen);
  options.migrate_only = absl::GetFlag(FLAGS_migrate_only);
  options.pool_size = absl::GetFlag(FLAGS_pool_size);
  options.shutdown_grace = absl::GetFlag(FLAGS_shutdown_grace);
  options.max_threads = absl::GetFlag(FLAGS_max_threads);
  options.console_listen = absl::GetFlag(FLAGS_console_listen);
  if (options.migrate_only && options.process.migrate == db::MigrateMode::kOff) {
    return absl::InvalidArgumentError("--migrate-only needs --migrate=auto or --migrate=verify");
  }
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
  if (!options.console_listen.empty()) {
    if (absl::Status console = console::CheckConsoleListen(options.console_listen,
                                                           /*has_authorizer=*/false);
        !console.ok()) {
      return absl::InvalidArgumentError(console.message());
    }
  }
  // gRPC's sync server needs a few threads to poll; below that it stalls.
  if (options.max_threads < 4) return absl::InvalidArgumentError("--max-threads must be >= 4");
  return options;
}

}  // namespace campaignq::server
