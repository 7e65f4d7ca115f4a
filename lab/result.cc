#include "lab/result.h"

#include <algorithm>
#include <cmath>

namespace campaignq::lab {

void Tally::Merge(const Tally& other) {
  attempts += other.attempts;
  succeeded += other.succeeded;
  retries += other.retries;
  lock_waits += other.lock_waits;
  barrier_timeouts += other.barrier_timeouts;
  for (const auto& [state, count] : other.errors) errors[state] += count;
  for (const auto& [state, message] : other.error_samples) error_samples.emplace(state, message);
  latencies_ms.insert(latencies_ms.end(), other.latencies_ms.begin(), other.latencies_ms.end());
  for (const auto& [name, count] : other.extra) extra[name] += count;
}

void Tally::Error(const std::string& sqlstate, const std::string& message) {
  ++errors[sqlstate];
  error_samples.emplace(sqlstate, message);
}

int64_t StrategyResult::Errors(const std::string& sqlstate) const {
  auto it = errors.find(sqlstate);
  return it == errors.end() ? 0 : it->second;
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  p = std::min(100.0, std::max(0.0, p));
  // Nearest rank: the smallest value with at least p% of values <= it.
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * values.size()));
  if (rank == 0) rank = 1;
  return values[rank - 1];
}

void Summarise(const Tally& tally, double seconds, StrategyResult* result) {
  result->attempts = tally.attempts;
  result->succeeded = tally.succeeded;
  result->retries = tally.retries;
  result->lock_waits = tally.lock_waits;
  result->barrier_timeouts = tally.barrier_timeouts;
  result->errors = tally.errors;
  result->error_samples = tally.error_samples;
  result->seconds = seconds;
  result->throughput = seconds > 0 ? tally.succeeded / seconds : 0;
  result->p50_ms = Percentile(tally.latencies_ms, 50);
  result->p99_ms = Percentile(tally.latencies_ms, 99);
  for (const auto& [name, count] : tally.extra) result->extra[name] += count;
}

}  // namespace campaignq::lab
