#pragma once
// campaignq-server's command line: the shared process flags
// (common/process_flags.h) plus the server's own. Every flag also reads a
// CAMPAIGNQ_* environment variable (common/flags.h), so containers
// configure it with variables.

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/process/process_flags.h"
#include "server/limits/limit_options.h"
#include "server/security/security_options.h"

namespace campaignq::server {

inline constexpr char kProgram[] = "campaignq-server";
inline constexpr char kUsage[] =
    "usage: campaignq-server [flags]\n"
    "The campaignq gRPC service. Prints \"campaignq-server listening on HOST:PORT\" once it\n"
    "serves; SIGTERM/SIGINT drain it (exit 0).";

struct ServerOptions {
  // --database-url, --migrate, --metrics-listen, --pooler-mode. In pooler
  // mode watches re-read every second instead of waiting for NOTIFY.
  ProcessOptions process;
  std::string listen = "127.0.0.1:50051";  // host:port; port 0 picks a free port
  // Apply (or verify) the schema, then exit 0: the one-shot migrate step of
  // a deployment.
  bool migrate_only = false;
  int pool_size = 16;
  absl::Duration shutdown_grace = absl::Seconds(10);
  int max_threads = 512;
  // Retention of decided applications of closed campaigns (MaintenanceLoop);
  // zero keeps them forever.
  absl::Duration retain_decided = absl::Hours(24 * 30);
  // Message size, streams, keepalive, connection age, deadline cap, watch
  // caps, rate limits (server/limit_flags.h, docs/limits.md).
  LimitOptions limits;
  // TLS, authentication (--tls-*, --auth-tokens-file, --jwt-*,
  // --insecure-allow-unauthenticated); see docs/security.md.
  security::SecurityOptions security;
  // The web console's host:port (server/console); empty: off.
  std::string console_listen;
};

// The flags' values after ParseFlagsOrExit, validated: INVALID_ARGUMENT
// says which is wrong, including the secure-by-default rule (no
// authentication configured on a non-loopback --listen without
// --insecure-allow-unauthenticated; security/security_options.h).
absl::StatusOr<ServerOptions> ReadServerFlags();

}  // namespace campaignq::server
