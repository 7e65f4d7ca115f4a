#pragma once
// Process exit codes, the same in every campaignq binary (server, worker,
// CLI). Scripts and orchestrators branch on them; never reuse a number for
// another meaning.

namespace campaignq {

// Done; for the server and the worker: stopped cleanly by SIGTERM/SIGINT
// (also while still waiting for the database at start).
inline constexpr int kExitOk = 0;
// Failed while running: could not listen, an RPC failed, a timeout passed,
// a health check found the server NOT_SERVING.
inline constexpr int kExitFailure = 1;
// Never got going: a bad flag, value or environment variable, or a
// database that cannot be used as it is (schema mismatch, malformed URL).
// Restarting with the same configuration cannot help.
inline constexpr int kExitUsage = 2;
// The CLI's storm (and lab) found a broken invariant.
inline constexpr int kExitInvariantBroken = 3;

}  // namespace campaignq
