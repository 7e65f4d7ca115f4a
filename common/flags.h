#pragma once
// Command lines of every campaignq binary: flags that also read an
// environment variable, one parser (exit code 2 on a usage error, never
// Abseil's 1), --help listing every flag, and --version.

#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

// The release every binary reports with --version. The build defines it
// from project(VERSION); this fallback only serves builds that do not.
#ifndef CAMPAIGNQ_VERSION
#define CAMPAIGNQ_VERSION "0.3.0"
#endif

// CAMPAIGNQ_FLAG(Type, name, "CAMPAIGNQ_NAME", default, help): the Abseil
// flag --name (also spelled --na-me) that, when not given on the command
// line, takes its value from the environment variable CAMPAIGNQ_NAME (an
// empty variable counts as unset), else `default`. The variable must be
// FlagEnvVariable(name) (tests check it); it is spelled out so that it can
// be found in the source and in the binary (scripts/container-test looks
// there). ParseCommandLine applies the environment; FlagHelp lists the flag
// with both. Use at global scope, once per flag in the whole program.
#define CAMPAIGNQ_FLAG(Type, name, env_variable, default_value, help) \
  ABSL_FLAG(Type, name, default_value, help);                         \
  [[maybe_unused]] static const bool campaignq_env_flag_##name##_ =   \
      ::campaignq::flags_internal::RegisterEnvFlag(#name, env_variable)

namespace campaignq {

namespace flags_internal {
// Called by CAMPAIGNQ_FLAG during static initialisation.
bool RegisterEnvFlag(const char* name, const char* env_variable);
}  // namespace flags_internal

// The local default when neither --database-url nor CAMPAIGNQ_DATABASE_URL
// is given: the PostgreSQL that scripts/run-service starts.
inline constexpr char kDefaultDatabaseUrl[] = "postgresql://campaignq@127.0.0.1:55432/campaignq";

// The value of environment variable `name`, or `fallback` when unset/empty.
std::string EnvOr(const char* name, const std::string& fallback);

// The environment variable flag `flag_name` must have ("pool_size" or
// "pool-size" -> "CAMPAIGNQ_POOL_SIZE").
std::string FlagEnvVariable(absl::string_view flag_name);

// The value the environment gives the flag whose variable is
// `env_variable` ("CAMPAIGNQ_DATABASE_URL"): the variable itself, else the
// content of the file that `<env_variable>_FILE` names (trailing newlines
// removed), so that a secret can be mounted as a file rather than put in
// the environment (Kubernetes Secret volumes, Docker/compose secrets). An
// empty variable counts as unset. INVALID_ARGUMENT when both are set, or
// the file cannot be read or is empty; the message never holds the file's
// content.
struct EnvValue {
  std::optional<std::string> value;  // nullopt: neither is set
  bool from_file = false;
};
absl::StatusOr<EnvValue> FlagEnvValue(const std::string& env_variable);

struct EnvFlag {
  std::string name;          // Abseil's: "pool_size"
  std::string env_variable;  // "CAMPAIGNQ_POOL_SIZE"
};
// Every CAMPAIGNQ_FLAG linked into this program, sorted by name.
std::vector<EnvFlag> EnvFlags();

struct CommandLine {
  bool help = false;                    // --help, -h or --helpfull was given
  bool version = false;                 // --version was given
  std::vector<std::string> positional;  // argv[0] first
};

// Parses argv the way every campaignq binary does. First every
// CAMPAIGNQ_FLAG whose environment variable (or <VARIABLE>_FILE,
// FlagEnvValue) is set takes that value; then
// argv: --flag-name and --flag_name alike (Abseil names are identifiers, the
// documented spelling has dashes), --flag=value or --flag value, bare
// --bool / --nobool, nothing after "--" is a flag. INVALID_ARGUMENT for an
// unknown flag or a bad value (naming the variable when it came from the
// environment), so that the caller can exit kExitUsage. With help or
// version set, nothing has been applied.
absl::StatusOr<CommandLine> ParseCommandLine(int argc, char** argv);

// Whether the last ParseCommandLine set flag `flag_name` ("database_url"
// or "database-url") from argv, not from the environment or its default:
// for a command that must not act on a setting every process inherits
// (`campaignq lab` and the database URL of the pod it runs in).
bool GivenOnCommandLine(absl::string_view flag_name);

// "flags:" and every CAMPAIGNQ_FLAG: its spelling, help, environment
// variable and built-in default (not the one the environment sets).
std::string FlagHelp();

// "<program> <CAMPAIGNQ_VERSION>", what --version prints.
std::string VersionLine(absl::string_view program);

}  // namespace campaignq
