#pragma once
// campaignq-worker's command line: the shared process flags
// (common/process_flags.h) plus the worker's own. Every flag also reads a
// CAMPAIGNQ_* environment variable (common/flags.h).

#include "absl/status/statusor.h"
#include "worker/worker_stack.h"

namespace campaignq::worker {

inline constexpr char kProgram[] = "campaignq-worker";
inline constexpr char kUsage[] =
    "usage: campaignq-worker [flags]\n"
    "Decides pending applications; run as many processes as you like. Prints\n"
    "\"campaignq-worker ready\" once it works; SIGTERM/SIGINT let every thread finish its\n"
    "batch (exit 0).";

// The flags' values after ParseFlagsOrExit, validated: INVALID_ARGUMENT
// says which is wrong.
absl::StatusOr<WorkerStackOptions> ReadWorkerFlags();

}  // namespace campaignq::worker
