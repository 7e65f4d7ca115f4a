#pragma once
// What the long-running binaries (campaignq-server, campaignq-worker) share
// on their command line: the four flags both define, the start of main()
// (--help, --version, usage errors) and the exit code of a failed start.
// Exit codes: common/exit_codes.h.

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/db/connect.h"
#include "common/db/migrator.h"

namespace campaignq {

// --database-url, --migrate, --migrate-with-running-processes,
// --metrics-listen, --pooler-mode, --idle-in-transaction-timeout.
struct ProcessOptions {
  std::string database_url;
  db::MigrateMode migrate = db::MigrateMode::kAuto;
  // --migrate-with-running-processes: kApply (db::Migrate).
  db::WhileRunning migrate_while_running = db::WhileRunning::kRefuse;
  // host:port for GET /metrics (Prometheus; port 0 picks one); empty: none.
  std::string metrics_listen;
  // Through PgBouncer in transaction pooling (db::ConnectOptions::pooler_safe):
  // no prepared statements, no session settings, no LISTEN (polling instead).
  bool pooler_mode = false;
  // The server ends a session idle inside a transaction this long, releasing
  // its locks: a frozen process (SIGSTOP, a paused container) cannot hold a
  // campaign for longer.
  int idle_in_transaction_timeout_ms = 10000;

  // How this process connects, shown as `application_name`.
  db::ConnectOptions ConnectAs(const std::string& application_name) const {
    db::ConnectOptions connect;
    connect.application_name = application_name;
    connect.pooler_safe = pooler_mode;
    connect.idle_in_transaction_timeout_ms = idle_in_transaction_timeout_ms;
    return connect;
  }
};

// Parses argv (ParseCommandLine). On --help prints `usage`, a blank line
// and FlagHelp() to stdout, on --version VersionLine(program), and returns
// kExitOk; on a bad flag, value, environment variable or a positional
// argument prints "<program>: <why> (see --help)" to stderr and returns
// kExitUsage. nullopt: the flags are set, read them.
std::optional<int> ParseFlagsOrExit(int argc, char** argv, absl::string_view program,
                                    absl::string_view usage);

// The shared flags' values after ParseFlagsOrExit; INVALID_ARGUMENT for a
// bad --migrate or an empty --database-url.
absl::StatusOr<ProcessOptions> ReadProcessFlags();

// db::PrepareSchema as a stack's Start() needs it, with `process`'s URL,
// --migrate and --migrate-with-running-processes: CANCELLED (a signal
// while waiting for the database) and INVALID_ARGUMENT (malformed URL) as
// they are, any other failure as FAILED_PRECONDITION ("cannot use the
// database: ..."), since starting again the same way cannot help.
absl::Status PrepareSchemaAtStart(const ProcessOptions& process, const db::ConnectOptions& connect);

// `listen` ("host:port", port maybe 0) with the port actually bound: the
// address a process announces.
std::string BoundAddress(const std::string& listen, int port);

// Prints "<program>: <message>" to stderr and returns kExitUsage: for
// option values the binary's own checks refuse.
int ReportUsageError(absl::string_view program, const absl::Status& status);

// The exit code of a stack whose Start() failed with `status`, which it
// logs and prints to stderr: CANCELLED (stopped by a signal while waiting
// for the database) kExitOk; FAILED_PRECONDITION and INVALID_ARGUMENT
// (unusable schema, bad URL or address) kExitUsage; anything else (cannot
// listen) kExitFailure.
int ExitCodeForStartFailure(absl::string_view program, const absl::Status& status);

}  // namespace campaignq
