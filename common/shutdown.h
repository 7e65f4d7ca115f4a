#pragma once
// SIGTERM/SIGINT handling for long-running processes, without async-signal
// trouble: signals are blocked everywhere and received by sigwait.

namespace campaignq {

// Blocks SIGINT and SIGTERM in the calling thread; threads started
// afterwards inherit the mask. Call first thing in main().
void BlockTerminationSignals();

// Waits until SIGINT or SIGTERM arrives; returns the signal number.
int WaitForTerminationSignal();

}  // namespace campaignq
