#include "server/security/security_options.h"

#include <arpa/inet.h>

#include <string>

#include "absl/strings/str_cat.h"

namespace campaignq::server::security {

bool IsLoopbackListen(absl::string_view listen) {
  const size_t colon = listen.rfind(':');
  if (colon == absl::string_view::npos) return false;
  const std::string host(listen.substr(0, colon));
  if (host == "localhost" || host == "[::1]") return true;
  // 127.0.0.0/8, as an address literal only (not a name that starts so).
  in_addr address{};
  return inet_pton(AF_INET, host.c_str(), &address) == 1 && (ntohl(address.s_addr) >> 24) == 127;
}

absl::Status ValidateSecurityOptions(const SecurityOptions& options, absl::string_view listen) {
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  if (!options.tls_client_ca.empty() && !options.tls()) {
    return absl::InvalidArgumentError("--tls-client-ca needs --tls-cert and --tls-key");
  }
  if (!options.tls_client_ca.empty() && options.auth_tokens_file.empty() &&
      options.jwt_public_keys.empty()) {
    return absl::InvalidArgumentError(
        "--tls-client-ca needs --auth-tokens-file (its cert-cn: lines map certificates to "
        "principals) or --jwt-public-keys: otherwise no caller could be authenticated");
  }
  const bool any_jwt = !options.jwt_public_keys.empty() || !options.jwt_issuer.empty() ||
                       !options.jwt_audience.empty();
  if (any_jwt && (options.jwt_public_keys.empty() || options.jwt_issuer.empty() ||
                  options.jwt_audience.empty())) {
    return absl::InvalidArgumentError(
        "--jwt-public-keys, --jwt-issuer and --jwt-audience go together");
  }
  if (!options.auth_configured() && !options.insecure_allow_unauthenticated &&
      !IsLoopbackListen(listen)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "refusing to serve unauthenticated callers on ", listen,
        ", which is not a loopback address: configure --auth-tokens-file, --jwt-public-keys or "
        "--tls-client-ca (docs/security.md), or pass --insecure-allow-unauthenticated"));
  }
  return absl::OkStatus();
}

}  // namespace campaignq::server::security
