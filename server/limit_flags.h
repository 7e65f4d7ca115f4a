#pragma once
// The flags of the server's limits (server/limits/limit_options.h), each
// with its CAMPAIGNQ_* environment variable; docs/limits.md says why each
// default is what it is.

#include "absl/status/statusor.h"
#include "server/limits/limit_options.h"

namespace campaignq::server {

// The flags' values after ParseCommandLine, validated: INVALID_ARGUMENT
// names the flag that is wrong.
absl::StatusOr<LimitOptions> ReadLimitFlags();

}  // namespace campaignq::server
