#pragma once
// When and how long storm waits before re-sending an Apply.

#include <grpcpp/support/status_code_enum.h>

#include "absl/time/time.h"

namespace campaignq::client {

// Returns true for failures after which the same Apply may be re-sent:
// UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED, RESOURCE_EXHAUSTED, and
// CANCELLED and UNKNOWN (we never cancel our own calls, so CANCELLED comes
// from a server shutting down; UNKNOWN from a commit whose outcome was
// lost). Re-sending is safe because an Apply that did land answers
// ALREADY_EXISTS with its id.
bool IsTransient(grpc::StatusCode code);

// Returns the wait before retry number `attempt` (1 = first retry):
// base * 2^(attempt-1) capped at `max`, scaled by `jitter` in [0, 1] into
// [half, full] so that retrying clients spread out instead of stampeding.
absl::Duration BackoffDelay(int attempt, absl::Duration base, absl::Duration max, double jitter);

}  // namespace campaignq::client
