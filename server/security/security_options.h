#pragma once
// The server's TLS and authentication settings (--tls-*, --auth-tokens-file,
// --jwt-*, --insecure-allow-unauthenticated; server/server_flags.cc defines
// the flags) and the secure-by-default rule.

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace campaignq::server::security {

struct SecurityOptions {
  // PEM server certificate chain and private key: both or neither. Re-read
  // when the files change (checked every kCertificateRefresh,
  // credentials.h).
  std::string tls_cert;
  std::string tls_key;
  // PEM CA bundle: clients must present a certificate it signed (mTLS).
  // Needs tls_cert, and auth_tokens_file or jwt_public_keys. A verified
  // certificate's subject CN maps to a principal by a cert-cn: line of the
  // tokens file.
  std::string tls_client_ca;
  // token_file.h's format; re-read on SIGHUP.
  std::string auth_tokens_file;
  // PEM public keys (RSA, EC P-256) for JWTs (jwt.h); with issuer and
  // audience, all three or none. Re-read on SIGHUP.
  std::string jwt_public_keys;
  std::string jwt_issuer;
  std::string jwt_audience;
  // Without any authentication configured, serve unauthenticated callers
  // (as an anonymous admin) on a non-loopback address too.
  bool insecure_allow_unauthenticated = false;

  bool tls() const { return !tls_cert.empty(); }
  // Some way to authenticate a caller is configured.
  bool auth_configured() const {
    return !auth_tokens_file.empty() || !jwt_public_keys.empty() || !tls_client_ca.empty();
  }
};

// True for "127.x.x.x:port", "localhost:port", "[::1]:port".
bool IsLoopbackListen(absl::string_view listen);

// The flags' consistency and the secure-by-default rule: with no
// authentication configured, `listen` must be a loopback address unless
// insecure_allow_unauthenticated. INVALID_ARGUMENT saying what to do.
absl::Status ValidateSecurityOptions(const SecurityOptions& options, absl::string_view listen);

}  // namespace campaignq::server::security
