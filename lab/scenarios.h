#pragma once
// The scenarios of the race lab, one file each (scenario_*.cc). Each runs
// every strategy the options select in its own fresh schema and reports one
// row per strategy.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "lab/options.h"
#include "lab/result.h"
#include "lab/session.h"

namespace campaignq::lab {

using ScenarioFn = absl::StatusOr<ScenarioReport> (*)(const LabOptions&, ScenarioSchema&);

struct ScenarioInfo {
  const char* name;
  ScenarioFn run;
  std::vector<std::string> strategies;  // in report order
};

// In report order.
const std::vector<ScenarioInfo>& Scenarios();

absl::StatusOr<ScenarioReport> RunLostUpdate(const LabOptions& options, ScenarioSchema& schema);
absl::StatusOr<ScenarioReport> RunCampaignOverflow(const LabOptions& options,
                                                   ScenarioSchema& schema);
absl::StatusOr<ScenarioReport> RunQueueClaim(const LabOptions& options, ScenarioSchema& schema);
absl::StatusOr<ScenarioReport> RunDeadlock(const LabOptions& options, ScenarioSchema& schema);
absl::StatusOr<ScenarioReport> RunLockDuration(const LabOptions& options, ScenarioSchema& schema);
absl::StatusOr<ScenarioReport> RunFkLock(const LabOptions& options, ScenarioSchema& schema);
absl::StatusOr<ScenarioReport> RunForShare(const LabOptions& options, ScenarioSchema& schema);

// The barrier timeout of the unsafe strategies: far above any round's
// length, so it only ever fires when a party is lost.
inline constexpr std::chrono::milliseconds kBarrierTimeout{5000};

}  // namespace campaignq::lab
