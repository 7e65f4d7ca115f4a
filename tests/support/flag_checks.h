#pragma once
// Checks every campaignq binary's command line must pass, whatever its
// flags: shared by the server's and the worker's flag tests.

#include <gtest/gtest.h>

#include <string>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/flags.h"

namespace campaignq::flags_test {

// Every flag linked into this program, except Abseil's own, is a
// CAMPAIGNQ_FLAG (so it reads its environment variable) and FlagHelp()
// lists it with that variable and its built-in default.
inline void ExpectEveryFlagListedWithEnvAndDefault() {
  const std::string help = FlagHelp();
  int checked = 0;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (absl::StrContains(flag->Filename(), "absl/")) continue;
    SCOPED_TRACE(std::string(name));
    ++checked;
    const std::string entry = absl::StrCat("  --", absl::StrReplaceAll(name, {{"_", "-"}}), "\n");
    const size_t at = help.find(entry);
    ASSERT_NE(at, std::string::npos) << help;
    const size_t next = help.find("\n  --", at + entry.size());
    const std::string block = help.substr(at, next - at);
    EXPECT_TRUE(absl::StrContains(block, absl::StrCat("env ", FlagEnvVariable(name)))) << block;
    EXPECT_TRUE(absl::StrContains(block, absl::StrCat("default \"", flag->DefaultValue(), "\"")))
        << block;
  }
  EXPECT_GT(checked, 0);
  // Each variable is the one its name implies.
  for (const EnvFlag& flag : EnvFlags()) {
    EXPECT_EQ(flag.env_variable, FlagEnvVariable(flag.name));
  }
}

// argv for ParseCommandLine from string literals.
class Argv {
 public:
  Argv(std::initializer_list<std::string> args) : args_(args) {
    for (std::string& arg : args_) pointers_.push_back(arg.data());
    pointers_.push_back(nullptr);
  }
  int argc() const { return static_cast<int>(args_.size()); }
  char** argv() { return pointers_.data(); }

 private:
  std::vector<std::string> args_;
  std::vector<char*> pointers_;
};

// Sets an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) { setenv(name, value, 1); }
  ~ScopedEnv() { unsetenv(name_); }

 private:
  const char* name_;
};

}  // namespace campaignq::flags_test
