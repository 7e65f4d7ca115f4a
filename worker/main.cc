// campaignq-worker: claims campaigns with pending applications and decides
// them under each campaign's cap. See worker/worker_stack.h.

#include <cstdio>

#include "absl/status/statusor.h"
#include "common/exit_codes.h"
#include "common/log.h"
#include "common/process/process_flags.h"
#include "common/shutdown.h"
#include "worker/worker_flags.h"
#include "worker/worker_stack.h"

int main(int argc, char** argv) {
  namespace worker = campaignq::worker;
  // First, so every thread started later inherits the blocked mask.
  campaignq::BlockTerminationSignals();
  if (auto exit_code = campaignq::ParseFlagsOrExit(argc, argv, worker::kProgram, worker::kUsage)) {
    return *exit_code;
  }
  absl::StatusOr<worker::WorkerStackOptions> options = worker::ReadWorkerFlags();
  if (!options.ok()) return campaignq::ReportUsageError(worker::kProgram, options.status());

  worker::WorkerStack stack(*options);
  if (absl::Status started = stack.Start(); !started.ok()) {
    return campaignq::ExitCodeForStartFailure(worker::kProgram, started);
  }
  // Tests and scripts wait for these lines.
  if (!stack.metrics_address().empty()) {
    std::printf("campaignq-worker metrics on %s\n", stack.metrics_address().c_str());
  }
  std::printf("campaignq-worker ready\n");
  std::fflush(stdout);

  campaignq::LogInfo("worker", "signal ", campaignq::WaitForTerminationSignal(), ": stopping");
  stack.Stop();
  return campaignq::kExitOk;
}
