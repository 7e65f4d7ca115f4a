#pragma once
// What one strategy of one scenario measured, and how per-client counts
// are gathered and summarised.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace campaignq::lab {

// Counts one client thread collects; merged after the run.
struct Tally {
  int64_t attempts = 0;    // every try, retries included
  int64_t succeeded = 0;   // operations that completed
  int64_t retries = 0;     // tries beyond the first
  int64_t lock_waits = 0;  // locking statements that took >= kLockWaitThreshold
  int64_t barrier_timeouts = 0;
  std::map<std::string, int64_t> errors;             // by SQLSTATE ("other" without one)
  std::map<std::string, std::string> error_samples;  // first message per SQLSTATE
  std::vector<double> latencies_ms;                  // per completed operation
  std::map<std::string, int64_t> extra;              // scenario-specific counts

  void Merge(const Tally& other);
  void Error(const std::string& sqlstate, const std::string& message);
};

// A locking statement that took at least this long counts as a lock wait.
// A heuristic (an uncontended lock round trip is well under it), reported,
// never asserted.
inline constexpr double kLockWaitThresholdMs = 1.0;

struct StrategyResult {
  std::string strategy;
  bool unsafe = false;  // expected to break the invariant (or deadlock)
  int clients = 0;
  int64_t attempts = 0;
  int64_t succeeded = 0;
  int64_t violations = 0;  // invariant violations, exact
  int64_t retries = 0;
  int64_t lock_waits = 0;
  int64_t barrier_timeouts = 0;
  std::map<std::string, int64_t> errors;
  std::map<std::string, std::string> error_samples;
  double seconds = 0;
  double throughput = 0;  // succeeded per second
  double p50_ms = 0;
  double p99_ms = 0;
  // The end state the scenario checks: what it should be and what it is.
  std::string end_state;  // e.g. "counter", "approved"
  int64_t expected = 0;
  int64_t actual = 0;
  std::map<std::string, int64_t> extra;
  std::string note;

  int64_t Errors(const std::string& sqlstate) const;
};

// Nearest-rank percentile (p in 0..100) of `values`; 0 when empty.
double Percentile(std::vector<double> values, double p);

// Fills the counting fields of `result` from a merged tally and the wall time.
void Summarise(const Tally& tally, double seconds, StrategyResult* result);

struct ScenarioReport {
  std::string name;                // lost-update, ...
  std::string title;               // one line: what is raced
  std::string violation_label;     // what a violation is here
  std::vector<std::string> notes;  // how the race is widened, settings used
  std::vector<StrategyResult> results;
  double seconds = 0;
};

struct LabReport {
  std::vector<ScenarioReport> scenarios;
  std::vector<std::string> notes;
  double seconds = 0;
};

}  // namespace campaignq::lab
