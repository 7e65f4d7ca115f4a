#pragma once
// THE authorization table of campaignq.v1.CampaignQueue: which role may call
// which method, and how far. docs/security.md mirrors it; a unit test
// (tests/security/authorization_test.cc) pins every cell.
//
//   method             admin  service  applicant          observer
//   CreateCampaign     yes    -        -                  -
//   GetCampaign        yes    yes      yes                yes
//   ListCampaigns      yes    yes      yes                yes
//   CloseCampaign      yes    -        -                  -
//   Apply              yes    yes      own user id only   -
//   GetApplication     yes    yes      own only           -
//   ListApplications   yes    yes      own only (forced)  -
//   CancelApplication  yes    yes      own only           -
//   WatchApplication   yes    yes      own only           -
//   GetQueueStats      yes    yes      -                  yes
//   ApplyBatch         yes    yes      -                  -
//   ConfirmApplication yes    yes      own only           -
//   ReleaseApplication yes    yes      own only           -
//
// "own only" for applications of another user answers NOT_FOUND, exactly as
// for an id that does not exist, so an applicant learns nothing about other
// users. Apply with another user id is PERMISSION_DENIED (the request names
// it: nothing is revealed). ApplyBatch is for imports and gateways, which
// apply for many users: an applicant applies for itself, one Apply.
// Observers never see a user id; only admins see an application's
// last_error (RedactApplication).

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "campaignq/v1/campaignq.pb.h"
#include "server/security/principal.h"

namespace campaignq::server::security {

enum class Method {
  kCreateCampaign,
  kGetCampaign,
  kListCampaigns,
  kCloseCampaign,
  kApply,
  kGetApplication,
  kListApplications,
  kCancelApplication,
  kWatchApplication,
  kGetQueueStats,
  kPauseCampaign,
  kResumeCampaign,
  kDeleteCampaign,
  kRetryApplication,
  kRetryFailedApplications,
  kApplyBatch,
  kConfirmApplication,
  kReleaseApplication,
};

// How an allowed role is bounded on a method.
enum class Scope {
  kDenied,   // PERMISSION_DENIED
  kAll,      // any campaign, any user id
  kOwnUser,  // only the principal's bound user id
};

// Every Method, in declaration order (for tests and docs).
inline constexpr Method kAllMethods[] = {Method::kCreateCampaign,
                                         Method::kGetCampaign,
                                         Method::kListCampaigns,
                                         Method::kCloseCampaign,
                                         Method::kApply,
                                         Method::kGetApplication,
                                         Method::kListApplications,
                                         Method::kCancelApplication,
                                         Method::kWatchApplication,
                                         Method::kGetQueueStats,
                                         Method::kPauseCampaign,
                                         Method::kResumeCampaign,
                                         Method::kDeleteCampaign,
                                         Method::kRetryApplication,
                                         Method::kRetryFailedApplications,
                                         Method::kApplyBatch,
                                         Method::kConfirmApplication,
                                         Method::kReleaseApplication};

// "CreateCampaign", ... (the RPC's name).
absl::string_view MethodName(Method method);

// The table's cell.
Scope ScopeOf(Role role, Method method);

// OK when the table lets `principal` call `method` at all; otherwise
// PERMISSION_DENIED naming the role and method (no secrets in it).
absl::Status CheckMethodAllowed(const Principal& principal, Method method);

// Whether `principal` may act on applications of `user_id`: admin and
// service for any, an applicant for its own bound id, an observer never.
bool MayActForUser(const Principal& principal, absl::string_view user_id);

// The user id ListApplications must be filtered to for `principal`: its
// bound id for an applicant, "" (no forced filter) otherwise.
std::string ForcedUserFilter(const Principal& principal);

// Strips from `application` what `principal` may not see: the user id for
// observers, last_error for everyone but admins.
void RedactApplication(const Principal& principal, v1::Application* application);

}  // namespace campaignq::server::security
