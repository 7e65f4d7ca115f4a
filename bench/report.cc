// campaignq-bench report: reads the RESULT lines of a bench/run session and
// the SQL floor's CSV, prints the markdown tables (median, min, max, ratio to
// the floor, target), writes the JSON and the scaling chart (SVG).

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace bench {
namespace {

using Run = std::map<std::string, std::string>;

std::vector<Run> ReadResults(const std::string& path) {
  std::vector<Run> runs;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("RESULT ", 0) != 0) continue;
    std::istringstream s(line.substr(7));
    Run r;
    std::string tok;
    while (s >> tok) {
      auto eq = tok.find('=');
      if (eq != std::string::npos) r[tok.substr(0, eq)] = tok.substr(eq + 1);
    }
    if (!r["label"].empty()) runs.push_back(r);
  }
  return runs;
}

// test,clients -> jobs_per_s of each run
std::map<std::string, std::vector<double>> ReadFloor(const std::string& path) {
  std::map<std::string, std::vector<double>> floor;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream s(line);
    std::string cell;
    while (std::getline(s, cell, ',')) f.push_back(cell);
    if (f.size() < 8 || f[0] == "test" || f[6].empty()) continue;
    if (f[7] == "f" || f[7] == "false") continue;  // a floor run that failed its verification
    floor[f[0] + ",c" + f[1]].push_back(std::atof(f[6].c_str()));
  }
  return floor;
}

double Median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string Fmt(double v, int decimals = 0) {
  if (std::isnan(v)) return "-";
  char buf[64];
  if (decimals == 0 && std::fabs(v) >= 1000) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
    std::string s = buf, out;
    int n = 0;
    for (int i = static_cast<int>(s.size()) - 1; i >= 0; --i) {
      out.insert(out.begin(), s[i]);
      if (++n % 3 == 0 && i > 0 && s[i - 1] != '-') out.insert(out.begin(), ',');
    }
    return out;
  }
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

struct Row {
  std::string label, what;
  std::vector<std::string> floors;  // floor tests; the best median of c8/c32 is used
  double target_ratio = 0;          // vs floor; 0: none
  double target_abs = 0;            // absolute decisions/s; 0: none
};

const std::vector<Row> kRows = {
    {"w1", "W1 empty jobs (1 uncapped campaign)", {"w1-claim-complete"}, 10, 0},
    {"w2",
     "W2 (20 campaigns, cap = N/40 each)",
     {"w2-claim-decide-batch50", "w2-claim-decide"},
     0,
     0},
    {"w2hot", "W2-hot (1 campaign, cap = N/2)", {"w2hot-claim-decide"}, 0, 0},
    {"w2x10",
     "W2 x10 (20 campaigns x cap 5,000)",
     {"w2x10-claim-decide-batch50", "w2x10-claim-decide-T"},
     1.5,
     0},
    {"w2hotx10", "W2-hot x10 (1 campaign x cap 100,000)", {"w2hotx10-claim-decide-T"}, 10, 0},
    {"w4",
     "W4 (campaigns x cap 10, 20 applicants each; N = 20 x campaigns)",
     {"w4-claim-decide-batch50"},
     0,
     0},
    {"apply", "Apply via gRPC, 64 callers (N = OK replies)", {"enqueue"}, 2, 0},
};

struct Cell {
  std::vector<double> values;
  int runs = 0, failed = 0;
  std::vector<std::string> errors;
  std::map<std::string, std::vector<double>> extra;
};

// The median of one RESULT key over a cell's successful runs; NaN if none.
double MedianOf(const std::map<std::string, Cell>& cells, const std::string& label,
                const std::string& key) {
  auto it = cells.find(label);
  if (it == cells.end()) return NAN;
  auto e = it->second.extra.find(key);
  return e == it->second.extra.end() ? NAN : Median(e->second);
}

std::map<std::string, Cell> Collect(const std::vector<Run>& runs) {
  std::map<std::string, Cell> cells;
  for (const auto& r : runs) {
    Cell& c = cells[r.at("label")];
    c.runs++;
    bool ok = r.count("ok") && r.at("ok") == "1";
    if (!ok) {
      c.failed++;
      c.errors.push_back(r.count("error") ? r.at("error") : "failed");
      continue;
    }
    if (r.count("value")) c.values.push_back(std::atof(r.at("value").c_str()));
    for (auto& [k, v] : r) {
      if (k == "label" || k == "run" || k == "ok" || k == "unit" || k == "error") continue;
      c.extra[k].push_back(std::atof(v.c_str()));
    }
  }
  return cells;
}

std::string RunsCell(const Cell& c) {
  return std::to_string(c.runs - c.failed) + "/" + std::to_string(c.runs) +
         (c.failed ? " **FAILED**" : "");
}

void WriteSvg(const std::string& path, const std::map<std::string, Cell>& cells) {
  struct Series {
    std::string title, xlabel;
    std::vector<std::pair<std::string, std::string>> points;  // x label, cell label
  };
  std::vector<Series> panels = {
      {"decisions/s vs worker processes (x4 threads; W2 x10 data)",
       "worker processes",
       {{"1", "procs-1"}, {"2", "procs-2"}, {"4", "procs-4"}, {"8", "procs-8"}}},
      {"decisions/s vs campaigns (Zipf s=1; 20 = W2)",
       "campaigns",
       {{"1", "campaigns-1"}, {"20", "campaigns-20"}, {"10,000", "campaigns-10000"}}},
  };
  const int W = 900, H = 360, pw = 400, ph = 240, top = 50, left = 70;
  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
    << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  for (size_t p = 0; p < panels.size(); ++p) {
    const Series& se = panels[p];
    int x0 = left + static_cast<int>(p) * (pw + 60);
    double ymax = 1;
    for (auto& pt : se.points) {
      auto it = cells.find(pt.second);
      if (it != cells.end()) ymax = std::max(ymax, Median(it->second.values));
    }
    double step = std::pow(10, std::floor(std::log10(ymax)));
    double top_val = std::ceil(ymax / step) * step;
    s << "<text x=\"" << x0 << "\" y=\"" << top - 25 << "\" font-size=\"13\">" << se.title
      << "</text>\n";
    s << "<line x1=\"" << x0 << "\" y1=\"" << top << "\" x2=\"" << x0 << "\" y2=\"" << top + ph
      << "\" stroke=\"black\"/>\n<line x1=\"" << x0 << "\" y1=\"" << top + ph << "\" x2=\""
      << x0 + pw << "\" y2=\"" << top + ph << "\" stroke=\"black\"/>\n";
    for (int g = 0; g <= 4; ++g) {
      double v = top_val * g / 4;
      int y = top + ph - static_cast<int>(ph * g / 4.0);
      s << "<line x1=\"" << x0 << "\" y1=\"" << y << "\" x2=\"" << x0 + pw << "\" y2=\"" << y
        << "\" stroke=\"#ddd\"/>\n<text x=\"" << x0 - 5 << "\" y=\"" << y + 4
        << "\" text-anchor=\"end\">" << Fmt(v) << "</text>\n";
    }
    size_t n = se.points.size();
    int bw = pw / static_cast<int>(n) - 30;
    for (size_t i = 0; i < n; ++i) {
      int cx = x0 + 15 + static_cast<int>(i) * (pw / static_cast<int>(n));
      auto it = cells.find(se.points[i].second);
      double v = it == cells.end() ? NAN : Median(it->second.values);
      if (!std::isnan(v)) {
        int h = static_cast<int>(ph * v / top_val);
        s << "<rect x=\"" << cx << "\" y=\"" << top + ph - h << "\" width=\"" << bw
          << "\" height=\"" << h << "\" fill=\"#4a7ab5\"/>\n<text x=\"" << cx + bw / 2 << "\" y=\""
          << top + ph - h - 4 << "\" text-anchor=\"middle\">" << Fmt(v) << "</text>\n";
      }
      s << "<text x=\"" << cx + bw / 2 << "\" y=\"" << top + ph + 16 << "\" text-anchor=\"middle\">"
        << se.points[i].first << "</text>\n";
    }
    s << "<text x=\"" << x0 + pw / 2 << "\" y=\"" << top + ph + 36 << "\" text-anchor=\"middle\">"
      << se.xlabel << "</text>\n";
  }
  s << "</svg>\n";
  std::ofstream(path) << s.str();
}

}  // namespace

int Report(const std::map<std::string, std::string>& flags) {
  auto get = [&](const std::string& k) {
    auto it = flags.find(k);
    return it == flags.end() ? std::string() : it->second;
  };
  auto runs = ReadResults(get("results"));
  auto floor_runs = ReadFloor(get("floor"));
  auto cells = Collect(runs);
  auto floor_best = [&](const std::string& test, std::string* which) {
    double best = NAN;
    for (const char* c : {",c8", ",c32"}) {
      auto it = floor_runs.find(test + c);
      if (it == floor_runs.end()) continue;
      double m = Median(it->second);
      if (std::isnan(best) || m > best) {
        best = m;
        *which = test + " -c " + std::string(c + 2);
      }
    }
    return best;
  };

  std::ostringstream md;
  int failures = 0;
  md << "| workload | N | runs ok | median | min | max | unit | SQL floor (best of -c 8/32, "
        "median) | ratio | target | met |\n"
     << "|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const Row& row : kRows) {
    auto it = cells.find(row.label);
    if (it == cells.end()) continue;
    const Cell& c = it->second;
    failures += c.failed;
    double med = Median(c.values);
    double mn = c.values.empty() ? NAN : *std::min_element(c.values.begin(), c.values.end());
    double mx = c.values.empty() ? NAN : *std::max_element(c.values.begin(), c.values.end());
    for (size_t fi = 0; fi < row.floors.size(); ++fi) {
      std::string which;
      double fl = floor_best(row.floors[fi], &which);
      double ratio = med / fl;
      std::string target = "-", met = "-";
      if (fi == 0 && row.target_ratio > 0) {
        target = ">= " + Fmt(row.target_ratio, 1) + "x";
        met = std::isnan(ratio) ? "?" : ratio >= row.target_ratio ? "yes" : "no";
      } else if (fi == 0 && row.target_abs > 0) {
        target = ">= " + Fmt(row.target_abs) + "/s";
        met = med >= row.target_abs ? "yes" : "no";
      }
      if (c.failed) met = "FAILED";
      auto apps = c.extra.find(row.label == "apply" ? "applies" : "apps");
      std::string n = fi == 0 && apps != c.extra.end() ? Fmt(Median(apps->second)) : "";
      md << "| " << (fi == 0 ? row.what : "") << " | " << n << " | " << (fi == 0 ? RunsCell(c) : "")
         << " | " << (fi == 0 ? Fmt(med) : "") << " | " << (fi == 0 ? Fmt(mn) : "") << " | "
         << (fi == 0 ? Fmt(mx) : "") << " | "
         << (fi == 0 ? (row.label == "apply" ? "applies/s" : "decisions/s") : "") << " | "
         << (std::isnan(fl) ? "-" : which + " = " + Fmt(fl)) << " | "
         << (std::isnan(ratio) ? "-" : Fmt(ratio, 2) + "x") << " | " << target << " | " << met
         << " |\n";
    }
  }

  // W4 against W2 x10 of the same run (issue 10: >= 0.5x).
  if (cells.count("w4")) {
    const double w4 = MedianOf(cells, "w4", "value"), x10 = MedianOf(cells, "w2x10", "value");
    const double ratio = w4 / x10;
    md << "\nW4 (" << Fmt(MedianOf(cells, "w4", "campaigns")) << " campaigns x cap 10, "
       << Fmt(MedianOf(cells, "w4", "apps")) << " applications): " << Fmt(w4)
       << " decisions/s = " << (std::isnan(ratio) ? "-" : Fmt(ratio, 2) + "x")
       << " W2 x10 of the same run (" << Fmt(x10) << "/s); target >= 0.5x: "
       << (std::isnan(ratio) ? "?"
           : ratio >= 0.5    ? "met"
                             : "missed")
       << "\n";
  }

  // W4 with 30% of the campaigns paused, against W4 of the same run (issue
  // 19, defect 9: the paused campaigns must not crowd the claim's window).
  if (cells.count("w4-paused") && cells.count("w4")) {
    const double paused = MedianOf(cells, "w4-paused", "value"),
                 w4 = MedianOf(cells, "w4", "value");
    md << "\nW4 with 30% of its campaigns paused: " << Fmt(paused)
       << " decisions/s of the others = " << Fmt(paused / w4, 2) << "x W4 of the same run\n";
  }

  // Apply's CPU beside its one-INSERT floor ratio.
  if (cells.count("apply")) {
    std::string which;
    const double apply = MedianOf(cells, "apply", "value");
    const double server = MedianOf(cells, "apply", "server_cpu_ms_per_1k");
    md << "\nApply, 64 callers: " << Fmt(apply)
       << " applies/s = " << Fmt(apply / floor_best("enqueue", &which), 2)
       << "x the one-INSERT floor; per 1,000 "
       << "Applies: server CPU " << Fmt(server) << " ms (target <= 60: "
       << (std::isnan(server) ? "?"
           : server <= 60     ? "met"
                              : "missed")
       << "), PostgreSQL CPU " << Fmt(MedianOf(cells, "apply", "pg_cpu_ms_per_1k"))
       << " ms (all postgres processes of the "
       << "cluster, from /proc/<pid>/stat)\n";
  }

  // The same W2 with the xmin horizon held back by a long transaction.
  auto w2 = cells.find("w2"), held = cells.find("w2-xmin-held");
  if (w2 != cells.end() && held != cells.end()) {
    failures += held->second.failed;
    const double plain = Median(w2->second.values), slowed = Median(held->second.values);
    md << "\nW2 while a REPEATABLE READ transaction holds the xmin horizon (runs ok "
       << RunsCell(held->second) << "): " << Fmt(slowed) << " decisions/s, "
       << Fmt(plain / slowed, 2) << "x slower than W2 in the same run\n";
  }

  // W3 latency.
  auto w3 = cells.find("w3");
  if (w3 != cells.end()) {
    const Cell& c = w3->second;
    failures += c.failed;
    auto m = [&](const char* k) {
      auto e = c.extra.find(k);
      return e == c.extra.end() ? NAN : Median(e->second);
    };
    auto mx = [&](const char* k) {
      auto e = c.extra.find(k);
      return e == c.extra.end() || e->second.empty()
                 ? NAN
                 : *std::max_element(e->second.begin(), e->second.end());
    };
    auto mn = [&](const char* k) {
      auto e = c.extra.find(k);
      return e == c.extra.end() || e->second.empty()
                 ? NAN
                 : *std::min_element(e->second.begin(), e->second.end());
    };
    md << "\nW3, Apply (gRPC) to decision committed, observed by a LISTEN watcher; open loop at "
       << Fmt(m("rate_target")) << "/s (runs ok " << RunsCell(c) << ")\n\n"
       << "| statistic | median of runs | min | max | target | met |\n|---|---|---|---|---|---|\n";
    for (auto [k, name, target] : std::vector<std::tuple<const char*, const char*, double>>{
             {"p50_ms", "p50 ms", 2},
             {"p95_ms", "p95 ms", 0},
             {"p99_ms", "p99 ms", 15},
             {"max_ms", "max ms", 0},
             {"decided_p50_ms", "p50 ms to decided_at (in-transaction)", 0},
             {"decided_p99_ms", "p99 ms to decided_at (in-transaction)", 0},
             {"rate_achieved", "achieved Apply rate /s", 0},
             {"issued_late_1ms", "Applies issued > 1 ms late", 0},
             {"idle_worker_cpu_pct", "idle worker CPU % (all processes)", 0},
             {"idle_server_cpu_pct", "idle server CPU %", 0},
             {"pg_cpu_ms_per_decision", "PostgreSQL CPU ms per Apply+decision", 0.5},
             {"server_cpu_ms_per_decision", "server CPU ms per Apply+decision", 0},
             {"worker_cpu_ms_per_decision", "worker CPU ms per Apply+decision", 0}}) {
      md << "| " << name << " | " << Fmt(m(k), 2) << " | " << Fmt(mn(k), 2) << " | "
         << Fmt(mx(k), 2) << " | " << (target > 0 ? "<= " + Fmt(target, target < 1 ? 1 : 0) : "-")
         << " | "
         << (target > 0 ? (c.failed         ? "FAILED"
                           : m(k) <= target ? "yes"
                                            : "no")
                        : "-")
         << " |\n";
    }
  }

  // Resources.
  md << "\nResources (medians over runs; RSS = peak VmHWM, the largest process)\n\n"
     << "| workload | worker RSS MiB | server RSS MiB | worker CPU ms / 1,000 | server CPU ms / "
        "1,000 | PostgreSQL CPU ms / 1,000 |\n"
     << "|---|---|---|---|---|---|\n";
  for (const std::string label : {"w1", "w2", "w2hot", "w2x10", "w2hotx10", "w4", "apply", "w3"}) {
    auto it = cells.find(label);
    if (it == cells.end()) continue;
    auto m = [&](const char* k) {
      auto e = it->second.extra.find(k);
      return e == it->second.extra.end() ? NAN : Median(e->second);
    };
    md << "| " << label << " | " << Fmt(m("worker_rss_kib") / 1024, 1) << " | "
       << Fmt(m("server_rss_kib") / 1024, 1) << " | " << Fmt(m("worker_cpu_ms_per_1k"), 0) << " | "
       << Fmt(m("server_cpu_ms_per_1k"), 0) << " | " << Fmt(m("pg_cpu_ms_per_1k"), 0) << " |\n";
  }

  // Scaling.
  md << "\nScaling (decisions/s, median; chart: bench/scaling.svg)\n\n| series | point | runs ok | "
        "median | min | max |\n|---|---|---|---|---|---|\n";
  for (const std::string label : {"procs-1", "procs-2", "procs-4", "procs-8", "campaigns-1",
                                  "campaigns-20", "campaigns-10000"}) {
    auto it = cells.find(label);
    if (it == cells.end()) continue;
    const Cell& c = it->second;
    failures += c.failed;
    auto dash = label.find('-');
    md << "| " << (label[0] == 'p' ? "worker processes (x4 threads)" : "campaigns") << " | "
       << label.substr(dash + 1) << " | " << RunsCell(c) << " | " << Fmt(Median(c.values)) << " | "
       << Fmt(c.values.empty() ? NAN : *std::min_element(c.values.begin(), c.values.end())) << " | "
       << Fmt(c.values.empty() ? NAN : *std::max_element(c.values.begin(), c.values.end()))
       << " |\n";
  }

  // Scale-out (issue 10: 8 processes >= 0.9x of 1).
  if (cells.count("procs-1") && cells.count("procs-8")) {
    const double ratio = MedianOf(cells, "procs-8", "value") / MedianOf(cells, "procs-1", "value");
    md << "\n8 worker processes / 1 (x4 threads each, W2 x10 data): " << Fmt(ratio, 2)
       << "x; target >= 0.9x: "
       << (std::isnan(ratio) ? "?"
           : ratio >= 0.9    ? "met"
                             : "missed")
       << "\n";
  }

  // Floor.
  md << "\nSQL floor (pgbench, same cluster, separate database; jobs/s, median of runs)\n\n| test "
        "| clients | runs | median | min | max |\n|---|---|---|---|---|---|\n";
  for (auto& [k, v] : floor_runs) {
    auto comma = k.find(',');
    md << "| " << k.substr(0, comma) << " | " << k.substr(comma + 2) << " | " << v.size() << " | "
       << Fmt(Median(v)) << " | " << Fmt(*std::min_element(v.begin(), v.end())) << " | "
       << Fmt(*std::max_element(v.begin(), v.end())) << " |\n";
  }

  // Failures in detail.
  for (auto& [label, c] : cells) {
    for (auto& e : c.errors) md << "\nFAILED " << label << ": " << e << "\n";
  }

  std::cout << md.str();
  if (!get("md").empty()) std::ofstream(get("md")) << md.str();
  if (!get("svg").empty()) WriteSvg(get("svg"), cells);
  if (!get("json").empty()) {
    std::ofstream js(get("json"));
    js << "{\n  \"runs\": [\n";
    for (size_t i = 0; i < runs.size(); ++i) {
      js << "    {";
      bool first = true;
      for (auto& [k, v] : runs[i]) {
        js << (first ? "" : ", ") << "\"" << k << "\": \"" << v << "\"";
        first = false;
      }
      js << "}" << (i + 1 < runs.size() ? "," : "") << "\n";
    }
    js << "  ],\n  \"floor\": {";
    bool first = true;
    for (auto& [k, v] : floor_runs) {
      js << (first ? "" : ", ") << "\n    \"" << k << "\": [";
      for (size_t i = 0; i < v.size(); ++i) js << (i ? ", " : "") << v[i];
      js << "]";
      first = false;
    }
    js << "\n  },\n  \"failed_runs\": " << failures << "\n}\n";
  }
  return failures ? 1 : 0;
}

}  // namespace bench
