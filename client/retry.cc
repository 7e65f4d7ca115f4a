#include "client/retry.h"

#include <algorithm>

namespace campaignq::client {

bool IsTransient(grpc::StatusCode code) {
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

absl::Duration BackoffDelay(int attempt, absl::Duration base, absl::Duration max, double jitter) {
  absl::Duration delay = base;
  for (int i = 1; i < attempt && delay < max; ++i) delay *= 2;
  delay = std::min(delay, max);
  jitter = std::clamp(jitter, 0.0, 1.0);
  return delay * (0.5 + 0.5 * jitter);
}

}  // namespace campaignq::client
