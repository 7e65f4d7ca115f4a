#pragma once
// Who is calling: the result of authentication (authenticator.h), the input
// of authorization (authorization.h). Rate limits and watch limits key on
// Principal::name.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace campaignq::server::security {

// What a caller may do; the table in authorization.cc says which method
// each role may call (docs/security.md mirrors it).
enum class Role {
  kAdmin,      // everything
  kService,    // a backend acting for its users: applications of any user id
  kApplicant,  // bound to one user id: only its own applications
  kObserver,   // read-only: campaigns and queue statistics, never user ids
};

// "admin", "service", "applicant", "observer".
absl::string_view RoleName(Role role);
// The inverse of RoleName; INVALID_ARGUMENT naming `text` otherwise.
absl::StatusOr<Role> ParseRole(absl::string_view text);

struct Principal {
  // For logs and per-principal limits: the token's name, the JWT's
  // "jwt:<sub>", the certificate's "cert:<CN>", or "anonymous".
  std::string name;
  Role role = Role::kObserver;
  // The bound user id: set for applicants (required), empty otherwise.
  std::string user_id;
  // True only for the loopback/insecure mode without any authentication
  // configured (then role is admin).
  bool anonymous = false;
};

// The principal of the unauthenticated mode: an anonymous admin.
Principal AnonymousAdmin();

}  // namespace campaignq::server::security
