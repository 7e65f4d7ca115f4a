#pragma once
// The race lab: runs the selected scenarios, each in its own fresh schema,
// and collects one report.

#include <string>

#include "absl/status/statusor.h"
#include "lab/options.h"
#include "lab/result.h"

namespace campaignq::lab {

// INVALID_ARGUMENT for an unknown scenario or strategy (the message lists
// the known ones); FAILED_PRECONDITION (RunLab) when the database holds the
// campaignq service's schema and options.shared_database is false: the
// lab's contention and its schemas do not belong on a service's database
// by accident; otherwise the first database error, if any.
absl::Status ValidateOptions(const LabOptions& options);
absl::StatusOr<LabReport> RunLab(const LabOptions& options);

// Whether an unsafe strategy showed its failure (a violation, or a
// deadlock), and whether a safe one held.
bool Broke(const StrategyResult& result);
bool AsExpected(const StrategyResult& result);

}  // namespace campaignq::lab
