#pragma once
// campaignq-server's life: prepare the schema, serve, drain on SIGTERM.

#include "common/flags.h"
#include "server/server_flags.h"

namespace campaignq::server {

// Exit codes.
inline constexpr int kExitOk = 0;       // served and shut down cleanly
inline constexpr int kExitFailure = 1;  // could not listen, or failed while running
// Bad flags, schema mismatch, bad URL: campaignq::kExitUsage (2).

// Expects SIGTERM/SIGINT blocked (BlockTerminationSignals) in the calling
// thread before any thread starts. Returns the process exit code.
int RunServer(const ServerOptions& options);

}  // namespace campaignq::server
