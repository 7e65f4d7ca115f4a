#include "common/flags.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>

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

// Abseil names of the flags the last ParseCommandLine found in argv.
std::set<std::string>& GivenFlags() {
  static auto* given = new std::set<std::string>();
  return *given;
}

bool IsHelp(absl::string_view arg) {
  return arg == "--help" || arg == "-help" || arg == "-h" || arg == "--helpfull";
}

bool IsVersion(absl::string_view arg) { return arg == "--version" || arg == "-version"; }

// Abseil's spelling of a flag name: '-' turned into '_'.
std::string Identifier(absl::string_view name) { return absl::StrReplaceAll(name, {{"-", "_"}}); }

absl::Status ApplyEnvironment() {
  for (const EnvFlag& env_flag : EnvFlagRegistry()) {
    absl::StatusOr<EnvValue> env = FlagEnvValue(env_flag.env_variable);
    if (!env.ok()) return env.status();
    if (!env->value) continue;
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(env_flag.name);
    std::string why;
    if (flag == nullptr || !flag->ParseFrom(*env->value, &why)) {
      // A file's content is not echoed (nor Abseil's reason, which quotes
      // it): it is in a file because it is secret.
      return absl::InvalidArgumentError(
          env->from_file ? absl::StrCat(env_flag.env_variable,
                                        "_FILE: the file does not hold a valid value for --",
                                        absl::StrReplaceAll(env_flag.name, {{"_", "-"}}))
                         : absl::StrCat(env_flag.env_variable, "=", *env->value, ": ", why));
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
    GivenFlags().insert(std::string(flag->Name()));
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

absl::StatusOr<EnvValue> FlagEnvValue(const std::string& env_variable) {
  EnvValue result;
  const std::string value = EnvOr(env_variable.c_str(), "");
  const std::string file_variable = absl::StrCat(env_variable, "_FILE");
  const std::string path = EnvOr(file_variable.c_str(), "");
  if (!value.empty() && !path.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("both ", env_variable, " and ", file_variable, " are set; set one"));
  }
  if (!value.empty()) {
    result.value = value;
    return result;
  }
  if (path.empty()) return result;
  std::ifstream file(path, std::ios::binary);
  if (!file.is_open()) {
    return absl::InvalidArgumentError(
        absl::StrCat(file_variable, "=", path, ": cannot open: ", std::strerror(errno)));
  }
  std::string text{std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
  if (file.bad()) {
    return absl::InvalidArgumentError(absl::StrCat(file_variable, "=", path, ": cannot read"));
  }
  // The newline an editor or `echo` leaves (a Kubernetes Secret created
  // from a file often has one) is not part of the value.
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (text.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(file_variable, "=", path, ": the file is empty"));
  }
  result.value = std::move(text);
  result.from_file = true;
  return result;
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
  GivenFlags().clear();
  if (absl::Status status = ApplyEnvironment(); !status.ok()) return status;
  if (absl::Status status = ApplyArguments(argc, argv, &result.positional); !status.ok()) {
    return status;
  }
  return result;
}

bool GivenOnCommandLine(absl::string_view flag_name) {
  return GivenFlags().count(Identifier(flag_name)) > 0;
}

std::string FlagHelp() {
  std::string out =
      "flags (--flag-name or --flag_name; each may instead be set by the environment variable "
      "shown, or <VARIABLE>_FILE naming a file that holds the value (for secrets mounted as "
      "files); a flag on the command line overrides both):\n";
  for (const EnvFlag& env_flag : EnvFlags()) {
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(env_flag.name);
    if (flag == nullptr) continue;
    absl::StrAppend(&out, "  --", absl::StrReplaceAll(env_flag.name, {{"_", "-"}}), "\n");
    out += Wrapped(flag->Help(), "      ", 100);
    absl::StrAppend(&out, "      env ", env_flag.env_variable, " (or ", env_flag.env_variable,
                    "_FILE), default \"", flag->DefaultValue(), "\"\n");
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
