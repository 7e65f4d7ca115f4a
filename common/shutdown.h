#pragma once
// SIGTERM/SIGINT handling for long-running processes, without async-signal
// trouble: signals are blocked everywhere and received by sigwait.

#include <chrono>

namespace campaignq {

// Blocks SIGINT and SIGTERM in the calling thread; threads started
// afterwards inherit the mask. Call first thing in main().
void BlockTerminationSignals();

// Waits until SIGINT or SIGTERM arrives; returns the signal number.
int WaitForTerminationSignal();

// Sleeps for `duration` unless SIGINT or SIGTERM arrives first (they must
// be blocked). True when a signal arrived; it is consumed. For loops that
// back off while waiting for something and must still honour a stop.
bool SleepUnlessTerminated(std::chrono::milliseconds duration);

}  // namespace campaignq
