#include "support/promtool.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "support/temp_dir.h"

namespace campaignq::testing {
namespace {

// Output and exit status of a shell command (stderr folded into stdout).
absl::Status RunShell(const std::string& command) {
  std::FILE* pipe = popen(absl::StrCat(command, " 2>&1").c_str(), "r");
  if (pipe == nullptr) return absl::InternalError("popen failed");
  std::string output;
  char buffer[4096];
  while (size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  const int status = pclose(pipe);
  if (status == 0) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat("`", command, "` failed:\n", output));
}

}  // namespace

absl::Status RunPromtool(const std::string& args) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
    return absl::FailedPreconditionError(
        "promtool not found: install Debian's `prometheus` package (scripts/install-deps does)");
  }
  return RunShell(absl::StrCat("promtool ", args));
}

absl::Status PromtoolCheckMetrics(const std::string& exposition) {
  ScopedTestDir dir("promtool");
  const std::string path = dir.File("metrics.txt");
  std::ofstream(path) << exposition;
  return RunPromtool(absl::StrCat("check metrics < ", path));
}

}  // namespace campaignq::testing
