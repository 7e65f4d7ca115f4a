#pragma once
// Command lines and flag defaults shared by every campaignq binary.

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace campaignq {

// The value of environment variable `name`, or `fallback` when unset/empty.
std::string EnvOr(const char* name, const std::string& fallback);

// The local default when neither --database-url nor CAMPAIGNQ_DATABASE_URL
// is given: the PostgreSQL that scripts/run-service starts.
inline constexpr char kDefaultDatabaseUrl[] =
    "postgresql://campaignq@127.0.0.1:55432/campaignq";

// True when environment variable `name` is "1", "true" or "yes".
bool EnvFlag(const char* name);

// Exit code for a usage error (bad flag, bad value), in every binary.
inline constexpr int kExitUsage = 2;

struct CommandLine {
  bool help = false;                    // --help, -h or --helpfull was given
  std::vector<std::string> positional;  // argv[0] first
};

// Parses the Abseil flags the binary defines, the way every campaignq binary
// does: --flag-name and --flag_name alike (Abseil names are identifiers, the
// documented spelling has dashes), --flag=value or --flag value, bare
// --bool / --nobool, nothing after "--". Unlike absl::ParseCommandLine,
// which exits 1, an unknown flag or a bad value is INVALID_ARGUMENT so that
// the caller can print it and exit kExitUsage. With help set, no flag has
// been applied.
absl::StatusOr<CommandLine> ParseCommandLine(int argc, char** argv);

}  // namespace campaignq
