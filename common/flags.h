#pragma once
// Flag defaults that come from the environment, so containers configure
// campaignq with variables and people with flags.

#include <string>
#include <vector>

namespace campaignq {

// The value of environment variable `name`, or `fallback` when unset/empty.
std::string EnvOr(const char* name, const std::string& fallback);

// absl::ParseCommandLine, accepting --flag-name for --flag_name: Abseil
// flag names are C++ identifiers, our documented flags use dashes. Only the
// name part before '=' is rewritten; arguments after "--" are left alone.
// Returns the positional arguments (argv[0] first).
std::vector<char*> ParseFlags(int argc, char** argv);

// The local default when neither --database-url nor CAMPAIGNQ_DATABASE_URL
// is given: the socket/port that scripts/run-service starts PostgreSQL on.
inline constexpr char kDefaultDatabaseUrl[] =
    "postgresql://campaignq@127.0.0.1:55432/campaignq";

}  // namespace campaignq
