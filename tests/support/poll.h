#pragma once
// Waiting for a condition instead of sleeping for a guessed time.

#include <chrono>
#include <thread>
#include <utility>

namespace campaignq::testing {

using Clock = std::chrono::steady_clock;

// A deadline `timeout` from now.
inline Clock::time_point Deadline(Clock::duration timeout) { return Clock::now() + timeout; }

// Calls condition() until it returns true (-> true) or the deadline passes
// (-> false, after one last call at or after the deadline). `interval` only
// paces the re-checks; correctness never depends on it.
template <typename Condition>
bool PollUntil(Condition&& condition, Clock::time_point deadline,
               Clock::duration interval = std::chrono::milliseconds(20)) {
  while (true) {
    if (condition()) return true;
    const auto now = Clock::now();
    if (now >= deadline) return false;
    std::this_thread::sleep_for(std::min<Clock::duration>(interval, deadline - now));
  }
}

}  // namespace campaignq::testing
