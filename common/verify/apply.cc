#include "common/verify/apply.h"

#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace campaignq::verify {
namespace {

void SetDeadline(grpc::ClientContext* context, std::chrono::milliseconds timeout) {
  context->set_deadline(std::chrono::system_clock::now() + timeout);
}

// Sleeps before retry `attempt` (1 = the first retry) unless that would
// pass `give_up`; returns whether to retry.
bool BackOff(const RetryPolicy& policy, int attempt, absl::BitGen& random) {
  const auto wait = JitteredBackoff(policy.backoff, attempt - 1, random);
  if (std::chrono::steady_clock::now() + wait > policy.give_up) return false;
  std::this_thread::sleep_for(wait);
  return true;
}

}  // namespace

bool IsRetryableCode(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::UNKNOWN:
      return true;
    default:
      return false;
  }
}

namespace {

// Calls call(context) with a fresh deadline until it answers OK or a code
// not worth retrying, or the policy gives up; counts the attempts. For
// calls that are safe to repeat (a Cancel, a Confirm, a Release: each
// answers OK or FAILED_PRECONDITION once done).
template <typename Call>
grpc::Status CallWithRetry(const RetryPolicy& policy, absl::BitGen& random, int* attempts,
                           Call call) {
  for (;;) {
    ++*attempts;
    grpc::ClientContext context;
    SetDeadline(&context, policy.rpc_timeout);
    const grpc::Status status = call(&context);
    if (status.ok() || !IsRetryableCode(status.error_code()) ||
        !BackOff(policy, *attempts, random)) {
      return status;
    }
  }
}

}  // namespace

std::optional<int64_t> OwnApplicationIdFromAlreadyExists(absl::string_view message,
                                                         int64_t campaign_id,
                                                         absl::string_view user_id) {
  const std::string prefix = absl::StrCat("user '", user_id, "' already applied to campaign ",
                                          campaign_id, ": application ");
  if (!absl::ConsumePrefix(&message, prefix)) return std::nullopt;
  const size_t end = message.find(' ');
  int64_t id = 0;
  if (!absl::SimpleAtoi(message.substr(0, end), &id) || id <= 0) return std::nullopt;
  return id;
}

void ApplyWithRetry(v1::CampaignQueue::Stub& stub, const RetryPolicy& policy, absl::BitGen& random,
                    ApplyRecord* record) {
  v1::ApplyRequest request;
  request.set_campaign_id(record->campaign_id);
  request.set_user_id(record->user_id);
  record->first_send = std::chrono::steady_clock::now();
  for (;;) {
    ++record->attempts;
    grpc::ClientContext context;
    SetDeadline(&context, policy.rpc_timeout);
    v1::Application reply;
    const grpc::Status status = stub.Apply(&context, request, &reply);
    record->reply = std::chrono::steady_clock::now();
    record->last_code = status.error_code();
    record->last_message = status.error_message();
    if (status.ok()) {
      record->acknowledged = true;
      record->application_id = reply.id();
      return;
    }
    if (status.error_code() == grpc::StatusCode::ALREADY_EXISTS) {
      const std::optional<int64_t> id = OwnApplicationIdFromAlreadyExists(
          status.error_message(), record->campaign_id, record->user_id);
      if (id.has_value()) {
        record->acknowledged = true;
        record->application_id = *id;
      }
      return;
    }
    if (!IsRetryableCode(status.error_code()) || !BackOff(policy, record->attempts, random)) {
      return;
    }
  }
}

void CancelWithRetry(v1::CampaignQueue::Stub& stub, const RetryPolicy& policy, absl::BitGen& random,
                     CancelRecord* record) {
  v1::CancelApplicationRequest request;
  request.set_application_id(record->application_id);
  v1::Application reply;
  const grpc::Status status =
      CallWithRetry(policy, random, &record->attempts, [&](grpc::ClientContext* context) {
        return stub.CancelApplication(context, request, &reply);
      });
  record->last_code = status.error_code();
  record->cancelled = status.ok();
}

void ActOnHoldWithRetry(v1::CampaignQueue::Stub& stub, const RetryPolicy& policy,
                        absl::BitGen& random, HoldRecord* record) {
  if (record->choice == HoldChoice::kExpire) return;
  v1::ConfirmApplicationRequest confirm;
  v1::ReleaseApplicationRequest release;
  confirm.set_application_id(record->application_id);
  release.set_application_id(record->application_id);
  v1::Application reply;
  const grpc::Status status =
      CallWithRetry(policy, random, &record->attempts, [&](grpc::ClientContext* context) {
        return record->choice == HoldChoice::kConfirm
                   ? stub.ConfirmApplication(context, confirm, &reply)
                   : stub.ReleaseApplication(context, release, &reply);
      });
  record->last_code = status.error_code();
  record->done = status.ok();
}

}  // namespace campaignq::verify
