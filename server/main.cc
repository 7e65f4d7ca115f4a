// campaignq-server: the gRPC front of campaignq. See server/server_stack.h.

#include <cstdio>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/exit_codes.h"
#include "common/log.h"
#include "common/process/process_flags.h"
#include "common/shutdown.h"
#include "server/security/reload.h"
#include "server/server_flags.h"
#include "server/server_stack.h"

int main(int argc, char** argv) {
  namespace server = campaignq::server;
  // First, so every thread started later inherits the blocked mask and the
  // signals reach only WaitForTerminationSignal / SleepUnlessTerminated.
  campaignq::BlockTerminationSignals();
  // SIGHUP re-reads the tokens file and JWT keys (security/reload.h).
  server::security::BlockReloadSignal();
  // Debian's Abseil is built without NDEBUG, so by default every
  // absl::Mutex lock (gRPC's own locks are absl::Mutex) runs the deadlock
  // detector, under one global lock: a cost on every call, no use in
  // production. Before any thread starts.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  if (auto exit_code = campaignq::ParseFlagsOrExit(argc, argv, server::kProgram, server::kUsage)) {
    return *exit_code;
  }
  absl::StatusOr<server::ServerOptions> options = server::ReadServerFlags();
  if (!options.ok()) return campaignq::ReportUsageError(server::kProgram, options.status());

  server::ServerStack stack(*options);
  absl::StatusOr<int> port = stack.Start();
  if (!port.ok()) return campaignq::ExitCodeForStartFailure(server::kProgram, port.status());
  if (options->migrate_only) return campaignq::kExitOk;
  // Tests and scripts read these lines to learn the ports (port 0).
  if (!stack.metrics_address().empty()) {
    std::printf("campaignq-server metrics on %s\n", stack.metrics_address().c_str());
  }
  if (!stack.console_address().empty()) {
    std::printf("campaignq-server console on %s\n", stack.console_address().c_str());
  }
  std::printf("campaignq-server listening on %s\n", stack.address().c_str());
  std::fflush(stdout);

  {
    server::security::SighupReloader reloader([&stack] {
      const absl::Status reloaded = stack.ReloadSecurity();
      if (reloaded.ok()) {
        campaignq::LogInfo("server", "SIGHUP: reloaded the tokens file and JWT keys");
      } else {
        campaignq::LogError(
            "server", "SIGHUP: reload failed, keeping the previous ones: ", reloaded.message());
      }
    });
    campaignq::LogInfo("server", "signal ", campaignq::WaitForTerminationSignal(), ": stopping");
  }
  stack.Stop();
  return campaignq::kExitOk;
}
