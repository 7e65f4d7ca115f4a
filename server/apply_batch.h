#pragma once
// ApplyBatch's rules, apart from the service's I/O (the handler is
// CampaignQueueService::ApplyBatch, in apply_batch_handler.cc): what makes
// the whole call invalid, and what one Apply's outcome becomes in the reply.

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "campaignq/v1/campaignq.pb.h"

namespace campaignq::server {

// Requests per ApplyBatch at most: one call stays one bounded piece of the
// group-commit queue (a caller alone may fill half of its 10,000) and of the
// rate limit, and its reply stays small.
inline constexpr int kMaxApplyBatch = 1000;

// OK, or INVALID_ARGUMENT for the whole call: no requests, more than
// kMaxApplyBatch, or malformed ones. Each malformed request is a field
// violation named "requests[i].campaign_id" / "requests[i].user_id", so
// that a client fixes them all at once; the message names the first.
absl::Status ValidateApplyBatch(const v1::ApplyBatchRequest& request);

// One request's result: the application, or its error as the google.rpc.Status
// (code, message, details) that the same error of an Apply carries.
v1::ApplyBatchResult BatchResult(absl::StatusOr<v1::Application> outcome);

}  // namespace campaignq::server
