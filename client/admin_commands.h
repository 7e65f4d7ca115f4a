#pragma once
// The operator's commands for the queue's state: pause and resume a
// campaign, delete a closed one, and retry failed applications (the
// dead-letter queue). Like commands.h: each prints its result to stdout
// (text, or JSON with --json) and returns kExitOk, ExitCodeFor(status)
// after an RPC error, or kExitUsage for a missing or extra argument.

#include "client/commands.h"
#include "client/options.h"

namespace campaignq::client {

// `pause-campaign ID`: prints the campaign (paused=true).
int RunPauseCampaign(Stub& stub, const CliOptions& options);
// `resume-campaign ID`: prints the campaign (paused=false).
int RunResumeCampaign(Stub& stub, const CliOptions& options);
// `delete-campaign ID`: prints "deleted campaign ID with N applications";
// FAILED_PRECONDITION (exit kExitFailedPrecondition) while it is open.
int RunDeleteCampaign(Stub& stub, const CliOptions& options);
// `retry ID`: puts one failed application back to pending; prints it.
int RunRetryApplication(Stub& stub, const CliOptions& options);
// `retry-failed --campaign=ID`: every failed application of the campaign;
// prints "retried N failed applications of campaign ID".
int RunRetryFailed(Stub& stub, const CliOptions& options);

}  // namespace campaignq::client
