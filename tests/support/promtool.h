#pragma once
// Runs Prometheus's own linter over what our endpoints and rule files say,
// so "stock dashboards and alert rules work" is checked by the tool those
// users run, not by our reading of the format.

#include <string>

#include "absl/status/status.h"

namespace campaignq::testing {

// `promtool check metrics` over an exposition text: OK, or FAILED_PRECONDITION
// carrying promtool's complaints (or saying promtool is missing: Debian's
// `prometheus` package, which scripts/install-deps installs).
absl::Status PromtoolCheckMetrics(const std::string& exposition);

// `promtool <args...>` (e.g. {"test", "rules", path}): OK when it exits 0,
// else FAILED_PRECONDITION with its output.
absl::Status RunPromtool(const std::string& args);

}  // namespace campaignq::testing
