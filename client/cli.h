#pragma once
// Entry point of the campaignq command-line client.

#include <string>

namespace campaignq::client {

// Returns the --help text.
std::string UsageText();

// Parses flags, runs the command, and returns the process exit code
// (common/exit_codes.h): 0 ok, 1 RPC failure, 2 usage error, 3 storm
// invariant broken. --version prints "campaignq <version>".
int RunCli(int argc, char** argv);

}  // namespace campaignq::client
