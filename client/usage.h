#pragma once
// The CLI's command table: every command, the flags it takes (with their
// value placeholders and help), and the texts generated from it:
// `campaignq --help`, `campaignq COMMAND --help` and the message for a flag a
// command does not take. Parsing (cli.cc) and help read the same table, so a
// flag that help does not list is refused, and a flag help lists is read.
// Types and defaults are the Abseil flags' (client/cli.cc, lab/command.cc):
// help prints DefaultValue() of the flag the name finds in the registry.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace campaignq::client {

// One flag as one command takes it.
struct FlagUse {
  const char* name;       // without "--", dashed as documented: "page-size"
  const char* value;      // placeholder of its value ("N", "ID", "D"); "" for a bool switch
  const char* help;       // what it means for this command
  bool required = false;  // shown without brackets in the usage line
  // The command reads only the command line (lab's --database-url): help
  // shows no environment variable or default.
  bool command_line_only = false;
};

struct CommandSpec {
  const char* name;
  // The positional arguments in the usage line ("ID", "[applications|campaigns]");
  // "" when the command takes none (RunCli refuses any then).
  const char* args;
  const char* summary;
  std::vector<FlagUse> flags;
  const char* example;
};

// Every command, in the order --help lists them.
const std::vector<CommandSpec>& Commands();

// The command named `name`; nullptr for an unknown one.
const CommandSpec* FindCommand(absl::string_view name);

// The flags every command takes: where the server and the database are,
// TLS, the token, --json and --rpc-timeout. (--help and --version are
// handled before any command is looked at.)
const std::vector<FlagUse>& GlobalFlags();

// Every command name, in the order --help lists them.
std::vector<std::string> CommandNames();

// OK when `command` takes every flag in `given` (Abseil names, "page_size",
// or dashed), as its own or a global flag; else INVALID_ARGUMENT naming the
// first one that it does not take and listing the ones it does:
// "campaignq list: --user is not a flag of list (its flags: --campaign, ...)".
absl::Status CheckFlags(const CommandSpec& command, const std::vector<std::string>& given);

// `campaignq COMMAND --help`: usage, what it does, its flags with their
// defaults, an example, and a pointer to the global flags and exit codes;
// nullopt for an unknown command.
std::optional<std::string> CommandHelp(absl::string_view command);

// `campaignq --help`: every command's usage line, the global flags with
// their environment variables and defaults, and the exit codes.
std::string UsageText();

// The exit code table (common/exit_codes.h), as --help prints it.
std::string ExitCodeText();

}  // namespace campaignq::client
