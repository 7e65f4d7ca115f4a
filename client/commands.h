#pragma once
// The one-RPC commands. Each prints its result to stdout (text, or JSON with
// --json) and returns the process exit code: kExitOk; after an RPC error
// (printed to stderr, as JSON with --json) ExitCodeFor(status) (rpc.h:
// 10 + the gRPC code); kExitUsage for bad flags.

#include "campaignq/v1/campaignq.grpc.pb.h"
#include "client/options.h"

namespace campaignq::client {

using Stub = v1::CampaignQueue::StubInterface;

// The id a command acts on: its one positional argument (`retry 7`), or
// else `flag_id` (its --campaign/--application flag, 0 when not given).
// Returns false after a usage error (in *exit_code), naming `command` and
// `what`, when neither or both are given or it is not a positive integer.
bool IdArgument(const CliOptions& options, const char* command, const char* what, int64_t flag_id,
                int64_t* id, int* exit_code);

// --opens-at/--closes-at are RFC 3339; --hold-duration 0 and
// --max-active-holds 0 leave them unset. The request id is --request-id or a
// random UUID; calls whose outcome is unknown (UNAVAILABLE,
// DEADLINE_EXCEEDED, UNKNOWN) are retried with it (3 attempts in all), so a
// lost reply creates no second campaign.
int RunCreateCampaign(Stub& stub, const CliOptions& options);
int RunApply(Stub& stub, const CliOptions& options);
// `get ID` or --application=ID (an application), or --campaign=ID.
int RunGet(Stub& stub, const CliOptions& options);
// `get-campaign ID` (or --campaign=ID).
int RunGetCampaign(Stub& stub, const CliOptions& options);
// Prints every streamed state (a waitlisted one with kWaitlistedNote in
// text); kExitOk once the stream ends with a final status;
// kExitDeadlineExceeded when --timeout (default 30s) or the server's
// maximum watch duration ends it first.
int RunWatch(Stub& stub, const CliOptions& options);
// `list` lists applications (all pages); `list campaigns` lists campaigns.
// --limit=N stops after N rows; with --json the one merged response keeps
// next_page_token when more rows exist.
int RunList(Stub& stub, const CliOptions& options);
int RunCancel(Stub& stub, const CliOptions& options);
// `confirm ID` and `release ID`: a hold (docs/holds.md) approved or declined.
int RunConfirm(Stub& stub, const CliOptions& options);
int RunRelease(Stub& stub, const CliOptions& options);
int RunClose(Stub& stub, const CliOptions& options);
int RunStats(Stub& stub, const CliOptions& options);

}  // namespace campaignq::client
