#pragma once
// campaignq-server's command line. Every flag has an environment default
// (see common/flags.h), so containers configure it with variables.

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/db/migrator.h"

namespace campaignq::server {

struct ServerOptions {
  std::string database_url;
  std::string listen;  // host:port; port 0 picks a free port
  db::MigrateMode migrate = db::MigrateMode::kAuto;
  // Apply (or verify) the schema, then exit 0: the one-shot migrate step of
  // a deployment.
  bool migrate_only = false;
  // host:port for GET /metrics (Prometheus); empty: no metrics endpoint.
  std::string metrics_listen;
  // Through PgBouncer in transaction pooling (db::ConnectOptions::pooler_safe); watches
  // then re-read every second instead of waiting for NOTIFY.
  bool pooler_mode = false;
  int pool_size = 16;
  absl::Duration shutdown_grace = absl::Seconds(10);
  int max_threads = 64;
};

// Parses and validates argv. INVALID_ARGUMENT says what is wrong (unknown
// flag, bad value, stray argument). Prints help and exits 0 for --help.
//
// Why not absl::ParseCommandLine: it exits with status 1 on a bad flag,
// and campaignq's contract is exit 2 for usage errors (1 is "failed while
// running"). The public CommandLineFlag API does the typed parsing.
absl::StatusOr<ServerOptions> ParseServerFlags(int argc, char** argv);

}  // namespace campaignq::server
