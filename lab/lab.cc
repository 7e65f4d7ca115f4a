#include "lab/lab.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/db/pg_status.h"
#include "lab/scenarios.h"
#include "lab/session.h"

namespace campaignq::lab {

const std::vector<ScenarioInfo>& Scenarios() {
  static const auto* scenarios = new std::vector<ScenarioInfo>{
      {"lost-update",
       RunLostUpdate,
       {"unsafe", "atomic", "for-update", "optimistic", "serializable"}},
      {"campaign-overflow",
       RunCampaignOverflow,
       {"unsafe", "for-update", "for-no-key-update", "nowait", "optimistic", "constraint-only",
        "serializable", "queue"}},
      {"queue-claim", RunQueueClaim, {"unsafe", "for-update", "skip-locked", "nowait"}},
      {"deadlock", RunDeadlock, {"two-orders", "one-order"}},
      {"lock-duration", RunLockDuration, {"inside-lock", "outbox"}},
      {"fk-lock", RunFkLock, {"for-update", "for-no-key-update"}},
      {"for-share", RunForShare, {"none", "for-share"}},
  };
  return *scenarios;
}

absl::Status ValidateOptions(const LabOptions& options) {
  std::vector<std::string> names;
  std::set<std::string> strategies;
  for (const ScenarioInfo& info : Scenarios()) {
    names.push_back(info.name);
    strategies.insert(info.strategies.begin(), info.strategies.end());
  }
  for (const std::string& name : options.scenarios) {
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown scenario '", name, "'; known: ", absl::StrJoin(names, ", ")));
    }
  }
  for (const std::string& name : options.strategies) {
    if (strategies.count(name) == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown strategy '", name, "'; known: ", absl::StrJoin(strategies, ", ")));
    }
  }
  if (options.clients < 0 || options.iterations < 0 || options.cap < 0) {
    return absl::InvalidArgumentError("--clients, --iterations and --cap must not be negative");
  }
  return absl::OkStatus();
}

absl::StatusOr<LabReport> RunLab(const LabOptions& options) {
  absl::Status valid = ValidateOptions(options);
  if (!valid.ok()) return valid;
  if (!options.shared_database) {
    absl::StatusOr<bool> service = ServiceSchemaExists(options.database_url);
    if (!service.ok()) return service.status();
    if (*service) {
      return absl::FailedPreconditionError(
          "this database holds the campaignq service's schema: the lab runs heavy contention "
          "and creates and drops schemas of its own; point --database-url at a scratch database, "
          "or pass --shared-database to run here anyway");
    }
  }
  LabReport report;
  const Clock::time_point start = Clock::now();
  for (const ScenarioInfo& info : Scenarios()) {
    if (!options.scenarios.empty() && std::find(options.scenarios.begin(), options.scenarios.end(),
                                                info.name) == options.scenarios.end()) {
      continue;
    }
    const Clock::time_point scenario_start = Clock::now();
    auto schema = ScenarioSchema::Create(options.database_url, info.name, options.seed);
    if (!schema.ok()) return schema.status();
    absl::StatusOr<ScenarioReport> scenario;
    try {
      scenario = info.run(options, **schema);
    } catch (const std::exception& error) {
      scenario = db::StatusFromException(error);
    }
    if (!scenario.ok()) {
      return absl::Status(scenario.status().code(),
                          absl::StrCat(info.name, ": ", scenario.status().message()));
    }
    scenario->seconds = MsSince(scenario_start) / 1000.0;
    report.scenarios.push_back(std::move(*scenario));
  }
  report.seconds = MsSince(start) / 1000.0;
  return report;
}

bool Broke(const StrategyResult& result) {
  return result.violations > 0 || result.Errors(db::kSqlstateDeadlockDetected) > 0;
}

bool AsExpected(const StrategyResult& result) {
  return result.unsafe ? Broke(result) : result.violations == 0;
}

}  // namespace campaignq::lab
