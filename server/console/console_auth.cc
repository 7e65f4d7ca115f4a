#include "server/console/console_auth.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace campaignq::server::console {
namespace {

// "host:port" -> host (brackets of an IPv6 literal kept); "" when malformed.
absl::string_view HostOf(absl::string_view address) {
  const size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos) return address;
  absl::string_view host = address.substr(0, colon);
  // "::1" without brackets and without a port.
  if (absl::StrContains(host, ':') && !absl::StartsWith(host, "[")) return address;
  return host;
}

}  // namespace

bool IsLoopbackHost(absl::string_view host) {
  if (host == "localhost" || host == "::1" || host == "[::1]") return true;
  if (!absl::StartsWith(host, "127.")) return false;
  int dots = 0;
  for (char c : host) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dots == 3;
}

absl::Status CheckConsoleListen(absl::string_view listen, bool has_authorizer) {
  const size_t colon = listen.rfind(':');
  int port = -1;
  if (colon == absl::string_view::npos || colon == 0 ||
      !absl::SimpleAtoi(listen.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--console-listen must be host:port, not '", listen, "'"));
  }
  if (!has_authorizer && !IsLoopbackHost(listen.substr(0, colon))) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--console-listen=", listen,
        " is not a loopback address: without authentication the console (which can close "
        "campaigns) only listens on 127.0.0.1, ::1 or localhost"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Principal> Authenticate(const Authorizer& authorizer,
                                       absl::string_view authorization) {
  if (!authorizer) return Principal{"admin", true, true};
  constexpr absl::string_view kBearer = "Bearer ";
  if (!absl::StartsWithIgnoreCase(authorization, kBearer) ||
      authorization.size() == kBearer.size()) {
    return absl::UnauthenticatedError("a bearer token is required (Authorization: Bearer ...)");
  }
  absl::StatusOr<std::string> role = authorizer(std::string(authorization.substr(kBearer.size())));
  if (!role.ok()) return absl::UnauthenticatedError("the token was not accepted");
  if (*role == "admin") return Principal{*role, true, true};
  if (*role == "observer" || *role == "service") return Principal{*role, false, false};
  return absl::PermissionDeniedError(absl::StrCat("role ", *role, " may not use the console"));
}

absl::Status CheckRequestOrigin(bool has_authorizer, bool state_changing,
                                absl::string_view authorization, absl::string_view host,
                                absl::string_view origin) {
  if (!has_authorizer && !IsLoopbackHost(HostOf(host))) {
    return absl::PermissionDeniedError("the console answers only to a loopback Host");
  }
  if (!state_changing) return absl::OkStatus();
  if (authorization.empty()) {
    return absl::PermissionDeniedError("actions need an Authorization header");
  }
  if (!origin.empty() && origin != absl::StrCat("http://", host) &&
      origin != absl::StrCat("https://", host)) {
    return absl::PermissionDeniedError("cross-origin actions are refused");
  }
  return absl::OkStatus();
}

}  // namespace campaignq::server::console
