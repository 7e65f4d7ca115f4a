#pragma once
// The one-RPC commands. Each prints its result to stdout (text, or JSON with
// --json) and returns the process exit code: kExitOk, kExitFailure after an
// RPC error (printed to stderr), or kExitUsage for bad flags.

#include "campaignq/v1/campaignq.grpc.pb.h"
#include "client/options.h"

namespace campaignq::client {

using Stub = v1::CampaignQueue::StubInterface;

int RunCreateCampaign(Stub& stub, const CliOptions& options);
int RunApply(Stub& stub, const CliOptions& options);
// --application=ID or --campaign=ID, exactly one.
int RunGet(Stub& stub, const CliOptions& options);
// Prints every streamed state; kExitOk once the stream ends with a final
// status, kExitFailure when --timeout (default 30s) runs out first.
int RunWatch(Stub& stub, const CliOptions& options);
// `list` lists applications (all pages); `list campaigns` lists campaigns.
int RunList(Stub& stub, const CliOptions& options);
int RunCancel(Stub& stub, const CliOptions& options);
int RunClose(Stub& stub, const CliOptions& options);
int RunStats(Stub& stub, const CliOptions& options);

}  // namespace campaignq::client
