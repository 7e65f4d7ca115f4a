// campaignq-server: the gRPC front of campaignq. See server/run_server.h.

#include <cstdio>
#include <string>

#include "absl/flags/usage.h"
#include "common/flags.h"
#include "common/shutdown.h"
#include "server/run_server.h"
#include "server/server_flags.h"

int main(int argc, char** argv) {
  // First, so every thread started later inherits the blocked mask and the
  // signals reach only WaitForTerminationSignal / SleepUnlessTerminated.
  campaignq::BlockTerminationSignals();
  absl::SetProgramUsageMessage(
      "campaignq-server [flags]: the campaignq gRPC service (flags may be spelled "
      "--flag-name or --flag_name)");
  absl::StatusOr<campaignq::server::ServerOptions> options =
      campaignq::server::ParseServerFlags(argc, argv);
  if (!options.ok()) {
    std::fprintf(stderr, "campaignq-server: %s (see --help)\n",
                 std::string(options.status().message()).c_str());
    return campaignq::kExitUsage;
  }
  return campaignq::server::RunServer(*options);
}
