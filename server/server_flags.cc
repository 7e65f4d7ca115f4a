#include "server/server_flags.h"

#include "absl/strings/str_cat.h"
#include "common/flags.h"
#include "server/console/console_auth.h"
#include "server/limit_flags.h"

CAMPAIGNQ_FLAG(std::string, listen, "CAMPAIGNQ_LISTEN", "127.0.0.1:50051",
               "host:port to serve gRPC on; port 0 picks a free one");
CAMPAIGNQ_FLAG(bool, migrate_only, "CAMPAIGNQ_MIGRATE_ONLY", false,
               "apply (--migrate=auto) or check (--migrate=verify) the schema, then exit 0 "
               "without serving: the one-shot migrate step of a deployment");
CAMPAIGNQ_FLAG(int, pool_size, "CAMPAIGNQ_POOL_SIZE", 16,
               "maximum PostgreSQL connections for request handlers");
CAMPAIGNQ_FLAG(absl::Duration, shutdown_grace, "CAMPAIGNQ_SHUTDOWN_GRACE", absl::Seconds(10),
               "on SIGTERM, how long in-flight calls may take to finish");
CAMPAIGNQ_FLAG(absl::Duration, retain_decided, "CAMPAIGNQ_RETAIN_DECIDED", absl::Hours(24 * 30),
               "delete the applications of campaigns closed longer than this (one server at a "
               "time does it, in small batches; the campaign rows stay); 0 keeps them forever");
CAMPAIGNQ_FLAG(int, max_threads, "CAMPAIGNQ_MAX_THREADS", 512,
               "bound on gRPC's sync handler threads; each in-flight call (watches included) "
               "holds one, and a call beyond the bound is refused with RESOURCE_EXHAUSTED. Calls "
               "wait for one of --pool-size connections, so threads are cheap waiters here");
// The web console (server/console, docs/console.md).
CAMPAIGNQ_FLAG(std::string, console_listen, "CAMPAIGNQ_CONSOLE_LISTEN", "",
               "host:port of the web console (port 0 picks a free one); empty: no console. "
               "Loopback addresses only until authentication is configured");

// --- security (docs/security.md) ---
CAMPAIGNQ_FLAG(std::string, tls_cert, "CAMPAIGNQ_TLS_CERT", "",
               "PEM certificate chain of the gRPC port; with --tls-key turns TLS on. Re-read "
               "when the file changes");
CAMPAIGNQ_FLAG(std::string, tls_key, "CAMPAIGNQ_TLS_KEY", "",
               "PEM private key of --tls-cert (unencrypted)");
CAMPAIGNQ_FLAG(std::string, tls_client_ca, "CAMPAIGNQ_TLS_CLIENT_CA", "",
               "PEM CA bundle: require client certificates it signed (mutual TLS); a verified "
               "certificate's subject CN maps to a principal via a cert-cn: line of "
               "--auth-tokens-file");
CAMPAIGNQ_FLAG(std::string, auth_tokens_file, "CAMPAIGNQ_AUTH_TOKENS_FILE", "",
               "bearer tokens: lines '<sha256-hex> <role> [<user id>] <name>'; re-read on SIGHUP");
CAMPAIGNQ_FLAG(std::string, jwt_public_keys, "CAMPAIGNQ_JWT_PUBLIC_KEYS", "",
               "PEM public keys (RSA for RS256, EC P-256 for ES256) that sign accepted JWTs; "
               "re-read on SIGHUP");
CAMPAIGNQ_FLAG(std::string, jwt_issuer, "CAMPAIGNQ_JWT_ISSUER", "", "the iss every JWT must carry");
CAMPAIGNQ_FLAG(std::string, jwt_audience, "CAMPAIGNQ_JWT_AUDIENCE", "",
               "the aud every JWT must carry");
CAMPAIGNQ_FLAG(bool, insecure_allow_unauthenticated, "CAMPAIGNQ_INSECURE_ALLOW_UNAUTHENTICATED",
               false,
               "without any authentication configured, serve every caller as an anonymous admin "
               "on a non-loopback --listen too (default: refuse to start)");

namespace campaignq::server {
namespace {

security::SecurityOptions ReadSecurityFlags() {
  security::SecurityOptions security;
  security.tls_cert = absl::GetFlag(FLAGS_tls_cert);
  security.tls_key = absl::GetFlag(FLAGS_tls_key);
  security.tls_client_ca = absl::GetFlag(FLAGS_tls_client_ca);
  security.auth_tokens_file = absl::GetFlag(FLAGS_auth_tokens_file);
  security.jwt_public_keys = absl::GetFlag(FLAGS_jwt_public_keys);
  security.jwt_issuer = absl::GetFlag(FLAGS_jwt_issuer);
  security.jwt_audience = absl::GetFlag(FLAGS_jwt_audience);
  security.insecure_allow_unauthenticated = absl::GetFlag(FLAGS_insecure_allow_unauthenticated);
  return security;
}

}  // namespace

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
  options.retain_decided = absl::GetFlag(FLAGS_retain_decided);
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
  // gRPC's sync server needs a few threads to poll; below that it stalls.
  if (options.max_threads < 4) return absl::InvalidArgumentError("--max-threads must be >= 4");
  if (options.retain_decided < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--retain-decided must not be negative (0 keeps forever)");
  }
  absl::StatusOr<LimitOptions> limits = ReadLimitFlags();
  if (!limits.ok()) return limits.status();
  options.limits = *std::move(limits);
  options.security = ReadSecurityFlags();
  // --migrate-only serves nothing, so it needs no authentication: the
  // migrate step of a deployment runs with the server's environment.
  if (absl::Status security = security::ValidateSecurityOptions(options.security, options.listen);
      !security.ok() && !options.migrate_only) {
    return security;
  }
  // The console takes the gRPC API's principals: off loopback only with
  // authentication configured.
  if (!options.console_listen.empty()) {
    if (absl::Status console =
            console::CheckConsoleListen(options.console_listen, options.security.auth_configured());
        !console.ok()) {
      return absl::InvalidArgumentError(console.message());
    }
  }
  return options;
}

}  // namespace campaignq::server
