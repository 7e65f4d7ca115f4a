#pragma once
// Who is calling (authentication) and whether they may (authorization.h's
// table), for every call of the service. Handlers start with
//
//   absl::StatusOr<security::Principal> principal =
//       authorizer_->Authorize(*context, security::Method::kApply);
//   if (!principal.ok()) return ToGrpcStatus(principal.status());
//
// and then enforce ownership (authorization.h: MayActForUser, ...).
//
// Authentication: with nothing configured (no tokens file, JWT keys or
// client CA; only on loopback or with --insecure-allow-unauthenticated)
// every caller is the anonymous admin, whatever it sends. Otherwise, in
// this order:
//   1. an `authorization: Bearer <token>` metadata entry: a token of the
//      tokens file, else (with --jwt-public-keys) a JWT. A present but
//      unknown or invalid token is UNAUTHENTICATED, whatever else the call
//      carries.
//   2. a client certificate verified against --tls-client-ca whose subject
//      CN has a cert-cn: line in the tokens file.
//   Otherwise UNAUTHENTICATED.

#include <grpcpp/security/auth_context.h>
#include <grpcpp/server_context.h>
#include <grpcpp/support/string_ref.h>

#include <map>
#include <memory>
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "server/security/authorization.h"
#include "server/security/jwt.h"
#include "server/security/principal.h"
#include "server/security/security_options.h"
#include "server/security/token_file.h"

namespace campaignq::server::security {

class Authorizer {
 public:
  // Loads the tokens file and the JWT keys the options name.
  // INVALID_ARGUMENT (naming the file and line) when they are bad or
  // cannot be read.
  static absl::StatusOr<std::unique_ptr<Authorizer>> Create(const SecurityOptions& options);

  // Re-reads the tokens file and the JWT keys. On an error the old ones
  // stay in force and the error is returned (to be logged). Thread-safe;
  // calls in flight finish with what they started with.
  absl::Status Reload();

  // The caller of a call with this metadata and auth context (null for a
  // plaintext connection); UNAUTHENTICATED as described above.
  absl::StatusOr<Principal> Authenticate(
      const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
      const grpc::AuthContext* auth_context) const;

  // Authenticate, then CheckMethodAllowed: UNAUTHENTICATED or
  // PERMISSION_DENIED (logged with the principal's name), else the
  // principal, whose ownership bounds the handler still enforces.
  absl::StatusOr<Principal> Authorize(const grpc::ServerContextBase& context, Method method) const;

  // No authentication configured: every caller is the anonymous admin.
  bool anonymous() const { return anonymous_; }

 private:
  explicit Authorizer(SecurityOptions options) : options_(std::move(options)) {}

  const SecurityOptions options_;
  bool anonymous_ = false;
  mutable std::mutex mutex_;
  std::shared_ptr<const TokenFile> tokens_ ABSL_GUARDED_BY(mutex_);
  std::shared_ptr<const JwtVerifier> jwt_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace campaignq::server::security
