#include "lab/report.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/json_text.h"
#include "lab/lab.h"

namespace campaignq::lab {

std::string FormatErrors(const std::map<std::string, int64_t>& errors) {
  if (errors.empty()) return "-";
  std::vector<std::string> parts;
  for (const auto& [state, count] : errors) parts.push_back(absl::StrCat(state, ":", count));
  return absl::StrJoin(parts, " ");
}

std::string Verdict(const StrategyResult& result) {
  if (result.unsafe) return Broke(result) ? "BROKE (expected)" : "did not break (!)";
  return result.violations == 0 ? "holds" : "VIOLATED (!)";
}

std::string FormatTable(const LabReport& report) {
  std::string out;
  constexpr char kRow[] = "  %-18s %4s %7s %7s %6s %7s %6s %-15s %13s %9s %8s %8s  %s\n";
  for (const ScenarioReport& scenario : report.scenarios) {
    absl::StrAppend(&out, "== ", scenario.name, ": ", scenario.title, "  (",
                    absl::StrFormat("%.1f", scenario.seconds), " s)\n");
    absl::StrAppend(&out, "   violations = ", scenario.violation_label, "\n");
    for (const std::string& note : scenario.notes) absl::StrAppend(&out, "   * ", note, "\n");
    absl::StrAppend(
        &out, absl::StrFormat(kRow, "strategy", "cli", "tries", "ok", "viol", "retries", "waits",
                              "errors", "expect/actual", "ops/s", "p50 ms", "p99 ms", "verdict"));
    for (const StrategyResult& r : scenario.results) {
      absl::StrAppend(
          &out,
          absl::StrFormat(kRow, r.strategy, absl::StrCat(r.clients), absl::StrCat(r.attempts),
                          absl::StrCat(r.succeeded), absl::StrCat(r.violations),
                          absl::StrCat(r.retries), absl::StrCat(r.lock_waits),
                          FormatErrors(r.errors), absl::StrCat(r.expected, "/", r.actual),
                          absl::StrFormat("%.0f", r.throughput), absl::StrFormat("%.2f", r.p50_ms),
                          absl::StrFormat("%.2f", r.p99_ms), Verdict(r)));
    }
    // Scenario-specific counts, one line per strategy that has any.
    for (const StrategyResult& r : scenario.results) {
      std::vector<std::string> parts;
      for (const auto& [name, value] : r.extra) parts.push_back(absl::StrCat(name, "=", value));
      if (r.barrier_timeouts > 0)
        parts.push_back(absl::StrCat("barrier_timeouts=", r.barrier_timeouts));
      for (const auto& [state, message] : r.error_samples) {
        parts.push_back(
            absl::StrCat("\n       first ", state, ": ", message.substr(0, message.find('\n'))));
      }
      if (parts.empty()) continue;
      absl::StrAppend(&out, "     ", r.strategy,
                      r.note.empty() ? "" : absl::StrCat(" (", r.note, ")"), ": ",
                      absl::StrJoin(parts, " "), "\n");
    }
    absl::StrAppend(&out, "\n");
  }
  for (const std::string& note : report.notes) absl::StrAppend(&out, note, "\n");
  absl::StrAppend(&out, absl::StrFormat("lab finished in %.1f s\n", report.seconds));
  return out;
}

namespace {

std::string JsonCounts(const std::map<std::string, int64_t>& counts) {
  std::vector<std::string> parts;
  for (const auto& [name, value] : counts)
    parts.push_back(absl::StrCat(JsonQuoted(name), ":", value));
  return absl::StrCat("{", absl::StrJoin(parts, ","), "}");
}

std::string JsonMessages(const std::map<std::string, std::string>& messages) {
  std::vector<std::string> parts;
  for (const auto& [name, text] : messages)
    parts.push_back(absl::StrCat(JsonQuoted(name), ":", JsonQuoted(text)));
  return absl::StrCat("{", absl::StrJoin(parts, ","), "}");
}

std::string JsonResult(const StrategyResult& r) {
  return absl::StrCat(
      "{\"strategy\":", JsonQuoted(r.strategy), ",\"unsafe\":", r.unsafe ? "true" : "false",
      ",\"clients\":", r.clients, ",\"attempts\":", r.attempts, ",\"succeeded\":", r.succeeded,
      ",\"violations\":", r.violations, ",\"retries\":", r.retries,
      ",\"lock_waits\":", r.lock_waits, ",\"barrier_timeouts\":", r.barrier_timeouts,
      ",\"errors\":", JsonCounts(r.errors), ",\"error_samples\":", JsonMessages(r.error_samples),
      ",\"seconds\":", absl::StrFormat("%.4f", r.seconds),
      ",\"throughput\":", absl::StrFormat("%.1f", r.throughput),
      ",\"p50_ms\":", absl::StrFormat("%.3f", r.p50_ms),
      ",\"p99_ms\":", absl::StrFormat("%.3f", r.p99_ms), ",\"end_state\":", JsonQuoted(r.end_state),
      ",\"expected\":", r.expected, ",\"actual\":", r.actual, ",\"extra\":", JsonCounts(r.extra),
      ",\"note\":", JsonQuoted(r.note), ",\"verdict\":", JsonQuoted(Verdict(r)),
      ",\"as_expected\":", AsExpected(r) ? "true" : "false", "}");
}

}  // namespace

std::string FormatJson(const LabReport& report) {
  std::vector<std::string> scenarios;
  for (const ScenarioReport& s : report.scenarios) {
    std::vector<std::string> notes, results;
    for (const std::string& note : s.notes) notes.push_back(JsonQuoted(note));
    for (const StrategyResult& r : s.results) results.push_back(JsonResult(r));
    scenarios.push_back(absl::StrCat(
        "{\"name\":", JsonQuoted(s.name), ",\"title\":", JsonQuoted(s.title),
        ",\"violation_label\":", JsonQuoted(s.violation_label),
        ",\"seconds\":", absl::StrFormat("%.3f", s.seconds), ",\"notes\":[",
        absl::StrJoin(notes, ","), "],\"results\":[", absl::StrJoin(results, ","), "]}"));
  }
  return absl::StrCat("{\"seconds\":", absl::StrFormat("%.3f", report.seconds), ",\"scenarios\":[",
                      absl::StrJoin(scenarios, ","), "]}\n");
}

}  // namespace campaignq::lab
