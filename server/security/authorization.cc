#include "server/security/authorization.h"

#include <iterator>

#include "absl/strings/str_cat.h"

namespace campaignq::server::security {
namespace {

struct Row {
  Method method;
  const char* name;
  Scope admin;
  Scope service;
  Scope applicant;
  Scope observer;
};

constexpr Scope kNo = Scope::kDenied;
constexpr Scope kAll = Scope::kAll;
constexpr Scope kOwn = Scope::kOwnUser;

// The table (see authorization.h). One row per method, in Method order.
constexpr Row kTable[] = {
    {Method::kCreateCampaign, "CreateCampaign", kAll, kNo, kNo, kNo},
    {Method::kGetCampaign, "GetCampaign", kAll, kAll, kAll, kAll},
    {Method::kListCampaigns, "ListCampaigns", kAll, kAll, kAll, kAll},
    {Method::kCloseCampaign, "CloseCampaign", kAll, kNo, kNo, kNo},
    {Method::kApply, "Apply", kAll, kAll, kOwn, kNo},
    {Method::kGetApplication, "GetApplication", kAll, kAll, kOwn, kNo},
    {Method::kListApplications, "ListApplications", kAll, kAll, kOwn, kNo},
    {Method::kCancelApplication, "CancelApplication", kAll, kAll, kOwn, kNo},
    {Method::kWatchApplication, "WatchApplication", kAll, kAll, kOwn, kNo},
    {Method::kGetQueueStats, "GetQueueStats", kAll, kAll, kNo, kAll},
    {Method::kPauseCampaign, "PauseCampaign", kAll, kNo, kNo, kNo},
    {Method::kResumeCampaign, "ResumeCampaign", kAll, kNo, kNo, kNo},
    {Method::kDeleteCampaign, "DeleteCampaign", kAll, kNo, kNo, kNo},
    {Method::kRetryApplication, "RetryApplication", kAll, kNo, kNo, kNo},
    {Method::kRetryFailedApplications, "RetryFailedApplications", kAll, kNo, kNo, kNo},
    {Method::kApplyBatch, "ApplyBatch", kAll, kAll, kNo, kNo},
    // A hold is the applicant's to confirm or decline, as its cancel is.
    {Method::kConfirmApplication, "ConfirmApplication", kAll, kAll, kOwn, kNo},
    {Method::kReleaseApplication, "ReleaseApplication", kAll, kAll, kOwn, kNo},
};

static_assert(std::size(kTable) == std::size(kAllMethods), "one table row per Method");

const Row& RowOf(Method method) { return kTable[static_cast<int>(method)]; }

}  // namespace

absl::string_view MethodName(Method method) { return RowOf(method).name; }

Scope ScopeOf(Role role, Method method) {
  const Row& row = RowOf(method);
  switch (role) {
    case Role::kAdmin:
      return row.admin;
    case Role::kService:
      return row.service;
    case Role::kApplicant:
      return row.applicant;
    case Role::kObserver:
      return row.observer;
  }
  return Scope::kDenied;
}

absl::Status CheckMethodAllowed(const Principal& principal, Method method) {
  if (ScopeOf(principal.role, method) != Scope::kDenied) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat("role ", RoleName(principal.role), " may not call ", MethodName(method)));
}

bool MayActForUser(const Principal& principal, absl::string_view user_id) {
  switch (principal.role) {
    case Role::kAdmin:
    case Role::kService:
      return true;
    case Role::kApplicant:
      return !principal.user_id.empty() && principal.user_id == user_id;
    case Role::kObserver:
      return false;
  }
  return false;
}

std::string ForcedUserFilter(const Principal& principal) {
  return principal.role == Role::kApplicant ? principal.user_id : std::string();
}

void RedactApplication(const Principal& principal, v1::Application* application) {
  if (principal.role == Role::kObserver) application->clear_user_id();
  if (principal.role != Role::kAdmin) application->clear_last_error();
}

}  // namespace campaignq::server::security
