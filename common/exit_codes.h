#pragma once
// Process exit codes, the same in every campaignq binary (server, worker,
// CLI). Scripts and orchestrators branch on them; never reuse a number for
// another meaning. docs/cli.md has the CLI's table.

namespace campaignq {

// Done; for the server and the worker: stopped cleanly by SIGTERM/SIGINT
// (also while still waiting for the database at start).
inline constexpr int kExitOk = 0;
// Failed while running: could not listen, a timeout passed, a health check
// found the server NOT_SERVING (`campaignq health` exits 1 on every failure,
// RPC errors included: container health checks reserve other codes).
inline constexpr int kExitFailure = 1;
// Never got going: a bad flag, value or environment variable, or a
// database that cannot be used as it is (schema mismatch, malformed URL).
// Restarting with the same configuration cannot help.
inline constexpr int kExitUsage = 2;
// The CLI's storm (and lab) found a broken invariant.
inline constexpr int kExitInvariantBroken = 3;

// The CLI after an RPC failed: kExitRpcBase + the gRPC status code, so a
// script reads the code back as `$? - 10`. 11..26, one per code; the ones
// scripts branch on most are named below.
inline constexpr int kExitRpcBase = 10;
inline constexpr int kExitInvalidArgument = kExitRpcBase + 3;
inline constexpr int kExitDeadlineExceeded = kExitRpcBase + 4;
inline constexpr int kExitNotFound = kExitRpcBase + 5;
inline constexpr int kExitAlreadyExists = kExitRpcBase + 6;
inline constexpr int kExitPermissionDenied = kExitRpcBase + 7;
inline constexpr int kExitFailedPrecondition = kExitRpcBase + 9;
inline constexpr int kExitUnavailable = kExitRpcBase + 14;
inline constexpr int kExitUnauthenticated = kExitRpcBase + 16;

// The exit code for an RPC that failed with gRPC status code `code`
// (1..16); any other value (0 included: not a failure) gives kExitFailure.
constexpr int ExitCodeForRpcCode(int code) {
  return code >= 1 && code <= 16 ? kExitRpcBase + code : kExitFailure;
}

}  // namespace campaignq
