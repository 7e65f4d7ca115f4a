#pragma once
// `campaignq storm`: a concurrent Apply load against fresh campaigns, then
// a check of the outcome against the service's promises, in the database.

#include "client/options.h"

namespace campaignq::client {

// Creates --campaigns campaigns with --cap seats, sends --applicants Applies
// over them round-robin from --concurrency threads (the verification kit's
// Apply-with-retry), waits up to --decide-timeout until none is pending,
// then judges the outcome with the kit's checks against the database at
// --database-url and prints the report (table, or JSON with --json).
// Returns kExitOk when every invariant holds, kExitInvariantBroken when one
// does not, kExitFailure on an RPC or database failure, an unconfirmed
// Apply, or a decide timeout, kExitUsage for bad flags.
int RunStorm(const CliOptions& options);

}  // namespace campaignq::client
