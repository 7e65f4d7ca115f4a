#include "lab/html_report.h"

#include <algorithm>
#include <functional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/db/pg_status.h"
#include "lab/lab.h"
#include "lab/report.h"

namespace campaignq::lab {
namespace {

constexpr int kLabelWidth = 190;
constexpr int kBarWidth = 260;
constexpr int kRowHeight = 22;

std::string RowLabel(const StrategyResult& r) {
  return r.note.empty() ? r.strategy : absl::StrCat(r.strategy, " (", r.clients, ")");
}

// A horizontal bar chart: one bar per strategy, scaled to the largest value.
std::string BarChart(const std::string& title, const std::vector<StrategyResult>& results,
                     const std::function<double(const StrategyResult&)>& value,
                     const std::function<std::string(const StrategyResult&)>& label,
                     const std::function<std::string(const StrategyResult&)>& color) {
  double max = 0;
  for (const auto& r : results) max = std::max(max, value(r));
  const int height = 28 + kRowHeight * static_cast<int>(results.size());
  const int width = kLabelWidth + kBarWidth + 150;
  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" role=\"img\">"
      "<text x=\"0\" y=\"16\" class=\"t\">%s</text>",
      width, height, HtmlEscape(title));
  int y = 28;
  for (const auto& r : results) {
    const double v = value(r);
    const int bar = max > 0 ? static_cast<int>(v / max * kBarWidth) : 0;
    absl::StrAppend(
        &svg,
        absl::StrFormat("<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>", kLabelWidth - 6,
                        y + 15, HtmlEscape(RowLabel(r))),
        absl::StrFormat("<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>",
                        kLabelWidth, y + 3, std::max(bar, 1), kRowHeight - 6, color(r)),
        absl::StrFormat("<text x=\"%d\" y=\"%d\">%s</text>", kLabelWidth + std::max(bar, 1) + 6,
                        y + 15, HtmlEscape(label(r))));
    y += kRowHeight;
  }
  absl::StrAppend(&svg, "</svg>");
  return svg;
}

}  // namespace

std::string HtmlEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string FormatHtml(const LabReport& report) {
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>campaignq race lab</title><style>"
      "body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}"
      "table{border-collapse:collapse;font-size:13px;margin:.5em 0}"
      "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
      "td:first-child,th:first-child,td:last-child{text-align:left}"
      "tr.bad td{background:#fde0e0}tr.ok td{background:#e6f4e6}"
      "svg{font-size:12px;margin-right:2em}svg .t{font-weight:bold}"
      ".charts{display:flex;flex-wrap:wrap}.note{color:#555;font-size:13px}"
      "</style></head><body>\n<h1>campaignq race lab</h1>\n";
  absl::StrAppend(&html,
                  "<p>Red bars: an invariant broke (or, for deadlock, a 40P01 was raised). "
                  "Green: it held. The second chart is what each strategy costs. "
                  "Whole run: ",
                  absl::StrFormat("%.1f", report.seconds), " s.</p>\n");
  for (const ScenarioReport& s : report.scenarios) {
    absl::StrAppend(&html, "<h2>", HtmlEscape(s.name), "</h2><p>", HtmlEscape(s.title), " (",
                    absl::StrFormat("%.1f", s.seconds), " s)</p>\n");
    for (const std::string& note : s.notes)
      absl::StrAppend(&html, "<p class=\"note\">", HtmlEscape(note), "</p>\n");
    const bool deadlock = s.name == "deadlock";
    absl::StrAppend(&html, "<div class=\"charts\">");
    absl::StrAppend(
        &html,
        BarChart(
            deadlock ? "deadlocks (40P01) + violations"
                     : absl::StrCat("violations: ", s.violation_label),
            s.results,
            [&](const StrategyResult& r) {
              return static_cast<double>(r.violations +
                                         (deadlock ? r.Errors(db::kSqlstateDeadlockDetected) : 0));
            },
            [&](const StrategyResult& r) {
              const int64_t v =
                  r.violations + (deadlock ? r.Errors(db::kSqlstateDeadlockDetected) : 0);
              return v > 0 ? absl::StrCat(v) : std::string("0 - holds");
            },
            [&](const StrategyResult& r) {
              return (r.violations > 0 || (deadlock && r.Errors(db::kSqlstateDeadlockDetected) > 0))
                         ? std::string("#d62728")
                         : std::string("#2ca02c");
            }));
    absl::StrAppend(
        &html,
        BarChart(
            "throughput (ops/s), p50 / p99 latency", s.results,
            [](const StrategyResult& r) { return r.throughput; },
            [](const StrategyResult& r) {
              return absl::StrFormat("%.0f/s  %.1f / %.1f ms", r.throughput, r.p50_ms, r.p99_ms);
            },
            [](const StrategyResult& r) { return std::string(r.unsafe ? "#bbbbbb" : "#1f77b4"); }));
    absl::StrAppend(&html,
                    "</div>\n<table><tr><th>strategy</th><th>clients</th><th>attempts</th>"
                    "<th>succeeded</th><th>violations</th><th>retries</th><th>lock waits</th>"
                    "<th>errors</th><th>expected/actual</th><th>ops/s</th><th>p50 ms</th>"
                    "<th>p99 ms</th><th>verdict</th></tr>\n");
    for (const StrategyResult& r : s.results) {
      absl::StrAppend(
          &html, "<tr class=\"", Broke(r) ? "bad" : "ok", "\"><td>", HtmlEscape(r.strategy),
          "</td><td>", r.clients, "</td><td>", r.attempts, "</td><td>", r.succeeded, "</td><td>",
          r.violations, "</td><td>", r.retries, "</td><td>", r.lock_waits, "</td><td>",
          HtmlEscape(FormatErrors(r.errors)), "</td><td>", r.expected, "/", r.actual, "</td><td>",
          absl::StrFormat("%.0f", r.throughput), "</td><td>", absl::StrFormat("%.2f", r.p50_ms),
          "</td><td>", absl::StrFormat("%.2f", r.p99_ms), "</td><td>", HtmlEscape(Verdict(r)),
          "</td></tr>\n");
    }
    absl::StrAppend(&html, "</table>\n");
  }
  absl::StrAppend(&html, "</body></html>\n");
  return html;
}

}  // namespace campaignq::lab
