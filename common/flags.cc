#include "common/flags.h"

#include <algorithm>
#include <cstdlib>
#include <optional>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace campaignq {
namespace {

// Flags that Abseil itself defines and handles.
bool IsBuiltinFlag(absl::string_view name) {
  return name == "helpshort" || name == "helppackage" || name == "version" ||
         name == "only_check_args" || name == "flagfile" || name == "fromenv" ||
         name == "tryfromenv" || name == "undefok";
}

// Every flag name's '-' turned into '_'.
std::vector<std::string> NormalizeFlagNames(int argc, char** argv) {
  std::vector<std::string> out(argv, argv + argc);
  for (int i = 1; i < argc; ++i) {
    std::string& arg = out[i];
    if (arg == "--") break;
    if (arg.size() < 3 || arg[0] != '-') continue;
    const size_t start = arg[1] == '-' ? 2 : 1;
    const size_t end = std::min(arg.find('='), arg.size());
    for (size_t k = start; k < end; ++k) {
      if (arg[k] == '-') arg[k] = '_';
    }
  }
  return out;
}

// Checks every flag against the registry with Abseil's own rules, so that
// absl::ParseCommandLine afterwards cannot fail.
absl::Status CheckFlags(const std::vector<std::string>& args) {
  for (size_t i = 1; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (arg == "--") break;
    if (!absl::StartsWith(arg, "-") || arg == "-") continue;
    arg.remove_prefix(absl::StartsWith(arg, "--") ? 2 : 1);
    std::optional<std::string> value;
    if (size_t eq = arg.find('='); eq != absl::string_view::npos) {
      value = std::string(arg.substr(eq + 1));
      arg = arg.substr(0, eq);
    }
    if (IsBuiltinFlag(arg)) continue;
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(arg);
    if (flag == nullptr && absl::StartsWith(arg, "no")) {
      absl::CommandLineFlag* negated = absl::FindCommandLineFlag(arg.substr(2));
      if (negated != nullptr && negated->IsOfType<bool>() && !value) continue;
    }
    if (flag == nullptr) return absl::InvalidArgumentError(absl::StrCat("unknown flag --", arg));
    if (!value) {
      if (flag->IsOfType<bool>()) continue;
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(absl::StrCat("--", arg, " needs a value"));
      }
      value = args[++i];
    }
    std::string why;
    if (!flag->ParseFrom(*value, &why)) {
      return absl::InvalidArgumentError(absl::StrCat("--", arg, "=", *value, ": ", why));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : fallback;
}

bool EnvFlag(const char* name) {
  const std::string value = EnvOr(name, "");
  return value == "1" || value == "true" || value == "yes";
}

absl::StatusOr<CommandLine> ParseCommandLine(int argc, char** argv) {
  std::vector<std::string> normalized = NormalizeFlagNames(argc, argv);
  CommandLine result;
  for (size_t i = 1; i < normalized.size() && normalized[i] != "--"; ++i) {
    const std::string& arg = normalized[i];
    if (arg == "--help" || arg == "-help" || arg == "-h" || arg == "--helpfull") {
      result.help = true;
      return result;
    }
  }
  if (absl::Status status = CheckFlags(normalized); !status.ok()) return status;
  std::vector<char*> pointers;
  for (std::string& arg : normalized) pointers.push_back(arg.data());
  pointers.push_back(nullptr);
  for (char* positional : absl::ParseCommandLine(argc, pointers.data())) {
    result.positional.emplace_back(positional);
  }
  return result;
}

}  // namespace campaignq
