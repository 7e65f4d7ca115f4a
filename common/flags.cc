#include "common/flags.h"

#include <algorithm>
#include <cstdlib>
#include <optional>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"

namespace campaignq {
namespace {

// Leaked: read by static initialisers of other translation units.
std::vector<EnvFlag>& EnvFlagRegistry() {
  static auto* flags = new std::vector<EnvFlag>();
  return *flags;
}

bool IsHelp(absl::string_view arg) {
  return arg == "--help" || arg == "-help" || arg == "-h" || arg == "--helpfull";
}

bool IsVersion(absl::string_view arg) { return arg == "--version" || arg == "-version"; }

// Abseil's spelling of a flag name: '-' turned into '_'.
std::string Identifier(absl::string_view name) { return absl::StrReplaceAll(name, {{"-", "_"}}); }

absl::Status ApplyEnvironment() {
  for (const EnvFlag& env_flag : EnvFlagRegistry()) {
    const std::string value = EnvOr(env_flag.env_variable.c_str(), "");
    if (value.empty()) continue;
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(env_flag.name);
    std::string why;
    if (flag == nullptr || !flag->ParseFrom(value, &why)) {
      return absl::InvalidArgumentError(absl::StrCat(env_flag.env_variable, "=", value, ": ", why));
    }
  }
  return absl::OkStatus();
}

// Applies argv[1..] to the flag registry; appends positional arguments.
absl::Status ApplyArguments(int argc, char** argv, std::vector<std::string>* positional) {
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") {
      positional->insert(positional->end(), argv + i + 1, argv + argc);
      break;
    }
    if (!absl::StartsWith(arg, "-") || arg == "-") {
      positional->emplace_back(arg);
      continue;
    }
    arg.remove_prefix(absl::StartsWith(arg, "--") ? 2 : 1);
    std::optional<std::string> value;
    if (size_t eq = arg.find('='); eq != absl::string_view::npos) {
      value = std::string(arg.substr(eq + 1));
      arg = arg.substr(0, eq);
    }
    const std::string name = Identifier(arg);
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr && absl::StartsWith(name, "no") && !value) {
      absl::CommandLineFlag* negated = absl::FindCommandLineFlag(name.substr(2));
      if (negated != nullptr && negated->IsOfType<bool>()) {
        flag = negated;
        value = "false";
      }
    }
    if (flag == nullptr) return absl::InvalidArgumentError(absl::StrCat("unknown flag --", arg));
    if (!value) {
      if (flag->IsOfType<bool>()) {
        value = "true";
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        return absl::InvalidArgumentError(absl::StrCat("--", arg, " needs a value"));
      }
    }
    std::string why;
    if (!flag->ParseFrom(*value, &why)) {
      return absl::InvalidArgumentError(absl::StrCat("--", arg, "=", *value, ": ", why));
    }
  }
  return absl::OkStatus();
}

// `text` as lines of at most `width` characters, each after `indent`.
std::string Wrapped(absl::string_view text, absl::string_view indent, size_t width) {
  std::string out;
  std::string line;
  for (absl::string_view word : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    if (!line.empty() && indent.size() + line.size() + 1 + word.size() > width) {
      absl::StrAppend(&out, indent, line, "\n");
      line.clear();
    }
    absl::StrAppend(&line, line.empty() ? "" : " ", word);
  }
  if (!line.empty()) absl::StrAppend(&out, indent, line, "\n");
  return out;
}

}  // namespace

namespace flags_internal {

bool RegisterEnvFlag(const char* name, const char* env_variable) {
  EnvFlagRegistry().push_back({name, env_variable});
  return true;
}

}  // namespace flags_internal

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : fallback;
}

std::string FlagEnvVariable(absl::string_view flag_name) {
  return absl::StrCat("CAMPAIGNQ_", absl::AsciiStrToUpper(Identifier(flag_name)));
}

std::vector<EnvFlag> EnvFlags() {
  std::vector<EnvFlag> flags = EnvFlagRegistry();
  std::sort(flags.begin(), flags.end(),
            [](const EnvFlag& a, const EnvFlag& b) { return a.name < b.name; });
  return flags;
}

absl::StatusOr<CommandLine> ParseCommandLine(int argc, char** argv) {
  CommandLine result;
  for (int i = 1; i < argc && absl::string_view(argv[i]) != "--"; ++i) {
    result.help = result.help || IsHelp(argv[i]);
    result.version = result.version || IsVersion(argv[i]);
  }
  if (result.help || result.version) return result;
  result.positional.emplace_back(argc > 0 ? argv[0] : "");
  if (absl::Status status = ApplyEnvironment(); !status.ok()) return status;
  if (absl::Status status = ApplyArguments(argc, argv, &result.positional); !status.ok()) {
    return status;
  }
  return result;
}

std::string FlagHelp() {
  std::string out =
      "flags (--flag-name or --flag_name; each may instead be set by the environment variable "
      "shown, which a flag on the command line overrides):\n";
  for (const EnvFlag& env_flag : EnvFlags()) {
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(env_flag.name);
    if (flag == nullptr) continue;
    absl::StrAppend(&out, "  --", absl::StrReplaceAll(env_flag.name, {{"_", "-"}}), "\n");
    out += Wrapped(flag->Help(), "      ", 100);
    absl::StrAppend(&out, "      env ", env_flag.env_variable, ", default \"", flag->DefaultValue(),
                    "\"\n");
  }
  absl::StrAppend(&out,
                  "  --help     print this and exit 0\n"
                  "  --version  print the version and exit 0\n");
  return out;
}

std::string VersionLine(absl::string_view program) {
  return absl::StrCat(program, " ", CAMPAIGNQ_VERSION);
}

}  // namespace campaignq
