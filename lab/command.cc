#include "lab/command.h"

#include <fstream>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/db/redact.h"
#include "common/flags.h"
#include "common/json_text.h"
#include "lab/html_report.h"
#include "lab/lab.h"
#include "lab/report.h"

ABSL_FLAG(std::string, scenario, "",
          "lab: comma-separated scenarios (lost-update, campaign-overflow, queue-claim, deadlock, "
          "lock-duration, fk-lock, for-share); default all");
ABSL_FLAG(std::string, strategy, "", "lab: comma-separated strategies to run; default all");
ABSL_FLAG(int32_t, clients, 0,
          "lab: concurrent clients (threads, one connection each); 0: defaults");
ABSL_FLAG(int32_t, iterations, 0, "lab: operations per client; 0: each scenario's default");
ABSL_FLAG(uint64_t, seed, 1, "lab: seed of the random choices (writers' transfers, schema names)");
ABSL_FLAG(std::string, html, "", "lab: also write a self-contained HTML report to this file");
ABSL_FLAG(bool, shared_database, false,
          "lab: run even though the database holds the campaignq service's schema");

namespace campaignq::lab {
namespace {

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> items;
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    items.emplace_back(item);
  }
  return items;
}

// Under --json one error object on stderr, the CLI's shape (ErrorJson).
int ReportError(const LabCommandInputs& inputs, absl::string_view code, absl::string_view message,
                int exit_code) {
  std::cerr << (inputs.json ? ErrorJson(code, message, exit_code)
                            : absl::StrCat("error: ", message))
            << "\n";
  return exit_code;
}

}  // namespace

int RunLabCommand(const LabCommandInputs& inputs) {
  if (!GivenOnCommandLine("database_url")) {
    return ReportError(inputs, "USAGE",
                       "campaignq lab needs an explicit --database-url (it never uses "
                       "CAMPAIGNQ_DATABASE_URL or the default, which point at the service's "
                       "database)",
                       2);
  }
  LabOptions options;
  options.database_url = inputs.database_url;
  options.cap = inputs.cap;
  options.scenarios = SplitList(absl::GetFlag(FLAGS_scenario));
  options.strategies = SplitList(absl::GetFlag(FLAGS_strategy));
  options.clients = absl::GetFlag(FLAGS_clients);
  options.iterations = absl::GetFlag(FLAGS_iterations);
  options.seed = absl::GetFlag(FLAGS_seed);
  options.shared_database = absl::GetFlag(FLAGS_shared_database);
  absl::Status valid = ValidateOptions(options);
  if (!valid.ok()) {
    return ReportError(inputs, "USAGE", valid.message(), 2);
  }
  if (!inputs.json) {
    std::cerr << "campaignq lab: running against " << db::RedactedUrl(options.database_url) << "\n";
  }
  absl::StatusOr<LabReport> report = RunLab(options);
  if (!report.ok()) {
    const bool usage = report.status().code() == absl::StatusCode::kFailedPrecondition;
    return ReportError(inputs, usage ? "USAGE" : absl::StatusCodeToString(report.status().code()),
                       inputs.json ? report.status().message() : report.status().ToString(),
                       usage ? 2 : 1);
  }
  std::cout << (inputs.json ? FormatJson(*report) : FormatTable(*report));
  const std::string html_path = absl::GetFlag(FLAGS_html);
  if (!html_path.empty()) {
    std::ofstream file(html_path);
    file << FormatHtml(*report);
    if (!file) {
      return ReportError(inputs, "FAILED", absl::StrCat("cannot write ", html_path), 1);
    }
    if (!inputs.json) std::cout << "HTML report: " << html_path << "\n";
  }
  for (const ScenarioReport& scenario : report->scenarios) {
    for (const StrategyResult& result : scenario.results) {
      if (!AsExpected(result)) return 3;
    }
  }
  return 0;
}

}  // namespace campaignq::lab
