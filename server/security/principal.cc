#include "server/security/principal.h"

#include "absl/strings/str_cat.h"

namespace campaignq::server::security {

absl::string_view RoleName(Role role) {
  switch (role) {
    case Role::kAdmin:
      return "admin";
    case Role::kService:
      return "service";
    case Role::kApplicant:
      return "applicant";
    case Role::kObserver:
      return "observer";
  }
  return "unknown";
}

absl::StatusOr<Role> ParseRole(absl::string_view text) {
  for (Role role : {Role::kAdmin, Role::kService, Role::kApplicant, Role::kObserver}) {
    if (text == RoleName(role)) return role;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown role '", text, "' (expected admin, service, applicant or observer)"));
}

Principal AnonymousAdmin() {
  Principal principal;
  principal.name = "anonymous";
  principal.role = Role::kAdmin;
  principal.anonymous = true;
  return principal;
}

}  // namespace campaignq::server::security
