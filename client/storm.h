#pragma once
// `campaignq storm`: a concurrent Apply load against fresh campaigns, then
// a check of the outcome against the service's promises.

#include <grpcpp/grpcpp.h>

#include <memory>

#include "client/options.h"

namespace campaignq::client {

// Creates --campaigns campaigns with --cap seats, sends --applicants Applies
// over them round-robin from --concurrency threads, waits up to
// --decide-timeout until none is pending, then prints the report (table, or
// JSON with --json). Returns kExitOk when every invariant holds,
// kExitInvariantBroken when one does not, kExitFailure on an RPC failure,
// an unconfirmed Apply, or a decide timeout, kExitUsage for bad flags.
int RunStorm(const CliOptions& options);

}  // namespace campaignq::client
