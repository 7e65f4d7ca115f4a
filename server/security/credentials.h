#pragma once
// The gRPC port's server credentials: plaintext, TLS, or mutual TLS, from
// SecurityOptions.
//
// Certificates are reloaded without a restart: gRPC's
// FileWatcherCertificateProvider re-reads --tls-cert/--tls-key (and
// --tls-client-ca) every kCertificateRefresh and new handshakes use the new
// files (a rotation writes the key and the certificate, then waits that
// long before retiring the old certificate). Established connections keep
// their session.

#include <grpcpp/security/server_credentials.h>

#include <chrono>
#include <memory>

#include "absl/status/statusor.h"
#include "server/security/security_options.h"

namespace campaignq::server::security {

inline constexpr std::chrono::seconds kCertificateRefresh{10};

// Insecure credentials without --tls-cert. With it: checks that the
// certificate, the key (and the client CA) parse and that the key matches
// the certificate, INVALID_ARGUMENT naming the file otherwise, so a typo
// fails the start instead of every handshake.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const SecurityOptions& options);

}  // namespace campaignq::server::security
