#pragma once
// The one Apply-with-retry (and Cancel-with-retry) of campaignq's storms:
// what a careful client does, and a record of what it saw, for the checks.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/random/random.h"
#include "absl/strings/string_view.h"
#include "campaignq/v1/campaignq.grpc.pb.h"
#include "common/backoff.h"
#include "common/verify/fcfs.h"

namespace campaignq::verify {

// One applicant and what the service told it.
struct ApplyRecord {
  int64_t campaign_id = 0;
  std::string user_id;
  // The service confirmed the application: an OK reply, or ALREADY_EXISTS
  // naming this user's own application (an earlier attempt, or an attempt
  // whose reply was lost, had committed).
  bool acknowledged = false;
  // From the OK reply or the ALREADY_EXISTS message; 0 when unknown.
  int64_t application_id = 0;
  SteadyTime first_send{};  // just before the first attempt
  SteadyTime reply{};       // just after the last reply (the acknowledging one)
  int attempts = 0;
  grpc::StatusCode last_code = grpc::StatusCode::OK;
  std::string last_message;
};

struct RetryPolicy {
  // No attempt starts after this; the last one may end up to rpc_timeout
  // later. Default: no retries.
  SteadyTime give_up{};
  std::chrono::milliseconds rpc_timeout{10000};
  BackoffPolicy backoff{std::chrono::milliseconds(20), std::chrono::milliseconds(1000)};
};

// Returns true for codes after which the same request may be sent again:
// UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED, RESOURCE_EXHAUSTED, CANCELLED (we
// never cancel our own calls: a server shutting down) and UNKNOWN (a commit
// whose outcome was lost). Safe for Apply because the user id is the same:
// an attempt that did land answers ALREADY_EXISTS with its id.
bool IsRetryableCode(grpc::StatusCode code);

// Returns the application id an ALREADY_EXISTS message names, when it is
// about `user_id` and `campaign_id`; nullopt otherwise. The message is
// common/store/apply_outcome.cc's: "user '<user>' already applied to
// campaign <campaign>: application <id> is <status>".
std::optional<int64_t> OwnApplicationIdFromAlreadyExists(absl::string_view message,
                                                         int64_t campaign_id,
                                                         absl::string_view user_id);

// Sends record->campaign_id / user_id's Apply, retrying retryable codes on
// the same user with jittered backoff until policy.give_up, and fills in
// the record. ALREADY_EXISTS naming the caller's own application is an
// acknowledgement on ANY attempt, the first included (one application per
// user and campaign: the named one is ours). Other codes end it.
void ApplyWithRetry(v1::CampaignQueue::Stub& stub, const RetryPolicy& policy, absl::BitGen& random,
                    ApplyRecord* record);

// One Cancel and what came of it.
struct CancelRecord {
  int64_t campaign_id = 0;
  int64_t application_id = 0;
  bool cancelled = false;  // OK: the application is cancelled now
  int attempts = 0;
  grpc::StatusCode last_code = grpc::StatusCode::OK;  // e.g. FAILED_PRECONDITION: rejected
};

// Cancels record->application_id, retrying retryable codes like
// ApplyWithRetry (a Cancel is idempotent: a cancelled application answers
// OK).
void CancelWithRetry(v1::CampaignQueue::Stub& stub, const RetryPolicy& policy, absl::BitGen& random,
                     CancelRecord* record);

// What a holder does with the hold it was offered.
enum class HoldChoice { kConfirm, kRelease, kExpire };

// One hold the storm saw and what its holder did with it.
struct HoldRecord {
  int64_t campaign_id = 0;
  int64_t application_id = 0;
  HoldChoice choice = HoldChoice::kExpire;
  bool done = false;  // confirmed or released: OK
  int attempts = 0;   // 0: let expire
  // FAILED_PRECONDITION: the hold had ended first (expired: a confirm
  // racing the expiry loses, docs/holds.md).
  grpc::StatusCode last_code = grpc::StatusCode::OK;
};

// Confirms (kConfirm) or releases (kRelease) record->application_id,
// retrying retryable codes like ApplyWithRetry (ABORTED: the campaign was
// busy deciding). kExpire sends nothing.
void ActOnHoldWithRetry(v1::CampaignQueue::Stub& stub, const RetryPolicy& policy,
                        absl::BitGen& random, HoldRecord* record);

}  // namespace campaignq::verify
