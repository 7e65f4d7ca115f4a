#pragma once
// The CLI's help texts: `campaignq --help` (every command) and
// `campaignq COMMAND --help` (its usage, flags and an example), both from
// one table of commands, and the exit code table.

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace campaignq::client {

// Every command name, in the order --help lists them ("list" once, though
// `list campaigns` is a form of it).
std::vector<std::string> CommandNames();

// `campaignq COMMAND --help`: usage, what it does, its flags, an example,
// and a pointer to the global flags and exit codes; nullopt for an unknown
// command.
std::optional<std::string> CommandHelp(absl::string_view command);

// `campaignq --help`: every command in one line or two, the global flags,
// and the exit codes.
std::string UsageText();

// The exit code table (common/exit_codes.h), as --help prints it.
std::string ExitCodeText();

}  // namespace campaignq::client
