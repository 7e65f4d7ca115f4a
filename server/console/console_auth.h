#pragma once
// Who may use the console, and how a request proves it.
//
// - Authentication: a bearer token in the Authorization header, checked by
//   an Authorizer the server wires in (the same principals and roles as the
//   gRPC API). Without one, the console only listens on loopback and every
//   request acts as admin (CheckConsoleListen refuses anything else).
// - Roles: "admin" sees everything and may act; "observer" and "service"
//   may read, without user ids or last_error; anything else is refused.
// - CSRF: no cookies at all. A state-changing request must carry the
//   Authorization header (a cross-site form cannot set it, and a
//   cross-origin fetch that sets it needs a CORS preflight we never grant)
//   and, when the browser sends Origin, an Origin equal to the page's own.
//   Without an Authorizer the Host header must also name a loopback host,
//   which defeats DNS rebinding.

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace campaignq::server::console {

// Returns the role of the principal holding `bearer` (the token without
// "Bearer "), UNAUTHENTICATED for an unknown or expired token.
using Authorizer = std::function<absl::StatusOr<std::string>(const std::string& bearer)>;

struct Principal {
  std::string role;
  bool sees_user_ids = false;  // and last_error
  bool may_act = false;        // close, pause, resume, retry
};

// OK when the console may listen on `listen` ("host:port"):
// INVALID_ARGUMENT for a malformed address, FAILED_PRECONDITION for a
// non-loopback host while `has_authorizer` is false.
absl::Status CheckConsoleListen(absl::string_view listen, bool has_authorizer);

// "127.0.0.1", "::1", "[::1]", "localhost", any 127.x.y.z.
bool IsLoopbackHost(absl::string_view host);

// The principal for a request's Authorization header (empty when absent).
// Without an authorizer: admin. UNAUTHENTICATED for a missing or malformed
// header or a token the authorizer refuses; PERMISSION_DENIED for a role
// that may not use the console.
absl::StatusOr<Principal> Authenticate(const Authorizer& authorizer,
                                       absl::string_view authorization);

// The CSRF and rebinding checks of a request (see above): `host` and
// `origin` are its headers (empty when absent), `state_changing` whether it
// is a POST. PERMISSION_DENIED says which check failed.
absl::Status CheckRequestOrigin(bool has_authorizer, bool state_changing,
                                absl::string_view authorization, absl::string_view host,
                                absl::string_view origin);

}  // namespace campaignq::server::console
