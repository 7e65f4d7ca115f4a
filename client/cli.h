#pragma once
// Entry point of the campaignq command-line client.

#include <functional>
#include <string>

#include "client/options.h"

namespace campaignq::client {

// `campaignq lab`: the race lab lives in lab/ and is linked only into the
// campaignq executable (client/main.cc), never into this library, so the
// executable hands it in. Gets the parsed global flags (database_url, json,
// cap); returns the process exit code.
using LabCommand = std::function<int(const CliOptions&)>;

// Parses flags, runs the command, and returns the process exit code
// (common/exit_codes.h; the table is usage.h's ExitCodeText and
// docs/cli.md): 0 ok, 1 other failure, 2 usage error, 3 storm invariant
// broken, 10 + the gRPC code after a failed RPC. --version prints
// "campaignq <version>"; --help the usage, `COMMAND --help` (or
// `help COMMAND`) that command's (usage.h).
// `lab` runs the lab command; it must be callable.
int RunCli(int argc, char** argv, const LabCommand& lab);

}  // namespace campaignq::client
