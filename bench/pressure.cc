// campaignq-bench pressure: the pressure scenarios of issue 19, measured,
// on the pressure kit (common/verify/pressure.h) that the pressure test
// tier (tests/pressure_test.cc) runs too.
//
//   campaignq-bench pressure --scenario pinned|overload|chaos --db URL --server BIN
//        --worker BIN --logdir DIR [--rate 400] [--campaigns 100] [--cap 100] [--procs 2]
//        [--threads 4] [--batch 500] [--window-seconds 10] [--drain-timeout-seconds 300]
//        [--senders 64; overload: 512]
//   pinned:   [--clean-seconds 60] [--pinned-seconds 240] [--release-seconds 60] [--scanners 4]
//   overload: [--clean-seconds 30] [--saturate-rate 4000] [--saturate-seconds 30]
//             [--overload-factor 1.5] [--overload-seconds 120] [--drain-seconds 180]
//   chaos:    [--clean-seconds 30] [--terminate-seconds 60] [--terminate-period-ms 250]
//             [--idle-seconds 30] [--idle-connections 300] [--recover-seconds 30]
//             [--restart-command CMD] [--after-seconds 30]
//
// One server and --procs workers on an emptied database, Applies open loop
// at --rate into --campaigns capped campaigns (replaced as they fill, as in
// the soak; nothing deleted: the checks need every row).
//   pinned    clean, then `BEGIN; SELECT txid_current();` left idle plus
//             --scanners REPEATABLE READ sessions scanning `applications`
//             every second, then released.
//   overload  clean; saturate (--saturate-rate offered, far above what the
//             workers decide: its second half's decisions per second are
//             "what the machine decides"); overload (--overload-factor x
//             that); drain (back to --rate until the backlog is 2 s of
//             arrivals, at most --drain-seconds).
//   chaos     clean; terminate (one random campaignq session terminated
//             every --terminate-period-ms); idle (the same, with every
//             connection PostgreSQL will still give held idle, up to
//             --idle-connections, so that terminated sessions cannot come
//             back); recover (all released); restart (--restart-command,
//             e.g. pg_ctl restart -m immediate, as the phase begins); after.
// Then it waits until nothing is pending, reads the decision latencies
// (decided_at - created_at per window of created_at) and runs the kit's
// checks. Prints one WINDOW line per window, one PHASE line per phase,
// VERDICT lines against the targets, and one RESULT line. Each
// sender is a synchronous caller on a connection of its own: --senders /
// Apply latency bounds what they can offer, so a "sent" VERDICT per phase
// says whether they sent what was due (a phase they fell behind in
// measured the senders, not the service). Exit
// status 1 when an invariant fails or the run errs; a missed target is a
// VERDICT "missed", not a failure: those are what the numbers are for.

#include "common/verify/pressure.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "common/verify/checks.h"
#include "driver.h"
#include "procs.h"

namespace bench {
namespace {

using namespace std::chrono_literals;
namespace verify = campaignq::verify;

std::chrono::milliseconds SecondsFlag(const Flags& f, const std::string& k, const char* def) {
  return std::chrono::milliseconds(std::lround(std::stod(Get(f, k, def)) * 1000));
}

std::string Fmt(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3g", v);
  return b;
}

const verify::PhaseSummary* Find(const std::vector<verify::PhaseSummary>& phases,
                                 const std::string& name) {
  for (const auto& p : phases) {
    if (p.phase == name) return &p;
  }
  return nullptr;
}

// Applies that ended with `code` in a phase or a window (both count codes).
template <typename Counted>
long Code(const Counted& p, grpc::StatusCode code) {
  auto it = p.codes.find(static_cast<int>(code));
  return it == p.codes.end() ? 0 : it->second;
}

}  // namespace

int Pressure(const Flags& f) {
  const std::string scenario = Get(f, "scenario");
  const std::string db = Get(f, "db");
  const double rate = std::stod(Get(f, "rate", "400"));
  const auto window = SecondsFlag(f, "window-seconds", "10");
  const long procs = GetInt(f, "procs", 2), threads = GetInt(f, "threads", 4);
  Result res("pressure-" + scenario, 1);

  pqxx::connection c(db);
  Exec(c, "TRUNCATE applications, campaigns RESTART IDENTITY");
  Exec(c, "VACUUM ANALYZE applications");
  Server server = StartServer(f, "pressure-" + scenario);
  auto workers = StartWorkers(f, procs, threads, "pressure-" + scenario);
  for (auto& w : workers) WaitForLine(*w, "campaignq-worker ready", 60s);
  Exec(c, "CHECKPOINT");

  verify::PressureOptions options;
  options.database_url = db;
  options.new_stub = [&](int) { return std::move(Stubs(server.address, 1)[0]); };
  options.senders = static_cast<int>(GetInt(f, "senders", scenario == "overload" ? 512 : 64));
  options.campaigns.count = GetInt(f, "campaigns", 100);
  options.campaigns.cap = GetInt(f, "cap", 100);
  options.window = window;
  options.rss_kib = [&] {
    std::vector<std::pair<std::string, long>> rss{{"server", RssKib(server.child->pid())}};
    for (size_t i = 0; i < workers.size(); ++i)
      rss.emplace_back("worker" + std::to_string(i), RssKib(workers[i]->pid()));
    return rss;
  };
  // Live progress: the database's side (the Applies' numbers and the
  // decision latencies are complete only after the run: the WINDOW lines).
  options.on_window = [](const verify::PressureWindow& w) {
    std::cout << "progress phase=" << w.phase << " t_s=" << w.t_s
              << " decided_per_s=" << w.decided_per_s << " backlog=" << w.backlog
              << " dead_tuples=" << w.dead_tuples << " connections=" << w.connections << std::endl;
  };

  std::vector<verify::PressurePhase> phases;
  auto phase = [&](const std::string& name, const std::string& seconds_flag, const char* seconds,
                   double offered) -> verify::PressurePhase& {
    phases.emplace_back();
    phases.back().name = name;
    phases.back().length = SecondsFlag(f, seconds_flag, seconds);
    phases.back().rate = offered;
    return phases.back();
  };
  verify::HorizonPin pin(db, static_cast<int>(GetInt(f, "scanners", 4)));
  verify::SessionTerminator terminator(
      db, std::chrono::milliseconds(GetInt(f, "terminate-period-ms", 250)));
  verify::IdleConnections idle(db, static_cast<int>(GetInt(f, "idle-connections", 300)));
  const std::string restart = Get(f, "restart-command", "true");
  if (scenario == "pinned") {
    phase("clean", "clean-seconds", "60", rate);
    auto& pinned = phase("pinned", "pinned-seconds", "240", rate);
    pinned.on_start = [&] {
      pin.Pin();
      std::cout << "pressure: horizon pinned at xid " << pin.xid() << std::endl;
    };
    pinned.on_end = [&] { pin.Release(); };
    phase("released", "release-seconds", "60", rate);
  } else if (scenario == "overload") {
    phase("clean", "clean-seconds", "30", rate);
    phase("saturate", "saturate-seconds", "30", std::stod(Get(f, "saturate-rate", "4000")));
    phase("overload", "overload-seconds", "120", 0).rate_times_decided =
        std::stod(Get(f, "overload-factor", "1.5"));
    phase("drain", "drain-seconds", "180", rate).until_drained = true;
  } else if (scenario == "chaos") {
    phase("clean", "clean-seconds", "30", rate);
    phase("terminate", "terminate-seconds", "60", rate).on_start = [&] { terminator.Start(); };
    phase("idle", "idle-seconds", "30", rate).on_start = [&] {
      idle.Hold();
      std::cout << "pressure: holding " << idle.held() << " idle connections" << std::endl;
    };
    phase("recover", "recover-seconds", "30", rate).on_start = [&] {
      terminator.Stop();
      idle.Release();
      std::cout << "pressure: terminated " << terminator.terminated() << " sessions" << std::endl;
    };
    phase("restart", "after-seconds", "30", rate).on_start = [&] {
      const int status = std::system(restart.c_str());
      std::cout << "pressure: restart command exited " << status << std::endl;
    };
  } else {
    throw std::runtime_error("unknown --scenario " + scenario + " (pinned|overload|chaos)");
  }

  verify::PressureResult run = verify::RunPressure(options, phases);
  pin.Release();
  terminator.Stop();
  idle.Release();
  std::string error;
  if (!run.error.empty())
    std::cout << "pressure: the campaigns' manager met: " << run.error << "\n";
  const auto campaign_ids = verify::CampaignsOf(run.records);
  auto drained = verify::WaitUntilNothingPending(
      db, campaign_ids, Clock::now() + SecondsFlag(f, "drain-timeout-seconds", "300"));
  if (!drained.ok() || !*drained) error += "still pending after the drain timeout; ";
  for (auto& w : workers) {
    if (!w->Running()) error += "a worker exited (log " + w->stderr_path() + "); ";
  }
  StopAll(workers);
  Stop(*server.child, 20s);
  verify::FillDecisionLatency(db, window, &run);

  for (const auto& w : run.windows) std::cout << verify::FormatWindow(w) << "\n";
  const auto phases_seen = verify::SummarizePhases(run.windows);
  for (const auto& p : phases_seen) std::cout << verify::FormatPhase(p) << "\n";

  verify::VerifyOptions vo;
  vo.require_audit = false;  // its INSERT per decision would be measured too
  auto verdict = verify::Verify(db, run.records, vo);
  if (!verdict.ok()) {
    error += std::string(verdict.status().message()) + "; ";
  } else {
    for (const auto& v : verdict->violations) error += v + "; ";
    std::cout << "pressure: " << verdict->applicants << " Applies, " << verdict->acknowledged
              << " acknowledged, " << verdict->decided << " decided, " << run.campaigns_closed
              << " campaigns closed; invariants " << (verdict->AllHold() ? "hold" : "BROKEN")
              << std::endl;
  }

  auto target = [&](const std::string& name, bool met, const std::string& why) {
    std::cout << "VERDICT " << name << " " << (met ? "met" : "missed") << ": " << why << std::endl;
    res.Add(name, met ? "met" : "missed");
  };
  for (const auto& p : phases_seen) {
    const double due = p.offered_rate * p.seconds;
    target("sent-" + p.phase, p.sent >= 0.95 * due,
           std::to_string(p.sent) + " of the " + Fmt(due) + " Applies due were sent (>= 95%; " +
               std::to_string(options.senders) + " senders)");
  }
  const verify::PhaseSummary* clean = Find(phases_seen, "clean");
  if (scenario == "pinned" && clean && Find(phases_seen, "pinned") &&
      Find(phases_seen, "released")) {
    const auto& pinned = *Find(phases_seen, "pinned");
    target("p99", pinned.decide_p99_ms_max <= 3 * clean->decide_p99_ms_median,
           "worst pinned window p99 " + Fmt(pinned.decide_p99_ms_max) + " ms (median window " +
               Fmt(pinned.decide_p99_ms_median) + ") <= 3 x clean " +
               Fmt(clean->decide_p99_ms_median) + " ms");
    target("decided", pinned.decided_per_s >= 0.9 * pinned.offered_rate,
           Fmt(pinned.decided_per_s) + "/s >= 0.9 x offered " + Fmt(pinned.offered_rate) + "/s");
    target("backlog", pinned.backlog_max <= 2 * pinned.offered_rate,
           "largest " + std::to_string(pinned.backlog_max) + " <= 2 s of arrivals (" +
               Fmt(2 * pinned.offered_rate) + ")");
    // Recovered: from this window of the release on, every window's p99 is
    // within 1.5 x the clean phase's.
    double recovered_s = -1, released_at = -1;
    for (size_t i = 0; i < run.windows.size(); ++i) {
      const auto& w = run.windows[i];
      if (w.phase != "released") continue;
      if (released_at < 0) released_at = w.t_s - w.seconds;
      bool rest_clean = true;
      for (size_t j = i; j < run.windows.size(); ++j)
        rest_clean =
            rest_clean && run.windows[j].decide_p99_ms <= 1.5 * clean->decide_p99_ms_median;
      if (rest_clean) {
        recovered_s = w.t_s - w.seconds - released_at;
        break;
      }
    }
    target("recovery", recovered_s >= 0 && recovered_s <= 60,
           recovered_s < 0 ? "never back within 1.5 x clean p99"
                           : "back within 1.5 x clean p99 " + Fmt(recovered_s) +
                                 " s after the release (target <= 60 s)");
    res.Add("clean_p50_ms", clean->decide_p50_ms_median);
    res.Add("clean_p99_ms", clean->decide_p99_ms_median);
    res.Add("pinned_p50_ms", pinned.decide_p50_ms_median);
    res.Add("pinned_p99_ms", pinned.decide_p99_ms_median);
    res.Add("pinned_p99_max_ms", pinned.decide_p99_ms_max);
    res.Add("pinned_dead_tuples_max", std::to_string(pinned.dead_tuples_max));
  }
  if (scenario == "overload" && Find(phases_seen, "overload") && Find(phases_seen, "drain")) {
    const auto& over = *Find(phases_seen, "overload");
    const auto& drain = *Find(phases_seen, "drain");
    // Where the excess waited: in the table (backlog), in the senders (due,
    // not yet sent: Apply was the bottleneck) or refused at the queue bound.
    target("overloaded", over.decided_per_s < 0.95 * over.offered_rate,
           Fmt(over.decided_per_s) + " decided/s of " + Fmt(over.offered_rate) +
               " offered; the excess: backlog " + std::to_string(over.backlog_end) +
               " at the end, " +
               std::to_string(static_cast<long>(over.offered_rate * over.seconds) - over.sent) +
               " due but not sent, " +
               std::to_string(Code(over, grpc::StatusCode::RESOURCE_EXHAUSTED)) +
               " RESOURCE_EXHAUSTED");
    target("apply-fast", Code(over, grpc::StatusCode::DEADLINE_EXCEEDED) == 0,
           "Apply p99 (worst window) " + Fmt(over.apply_p99_ms_max) + " ms, max " +
               Fmt(over.apply_max_ms) + " ms; " +
               std::to_string(Code(over, grpc::StatusCode::RESOURCE_EXHAUSTED)) +
               " RESOURCE_EXHAUSTED, " +
               std::to_string(Code(over, grpc::StatusCode::DEADLINE_EXCEEDED)) +
               " DEADLINE_EXCEEDED (a timeout storm: none allowed)");
    // Memory: each process's largest RSS in the overload's second half
    // against its first half's.
    std::map<std::string, std::pair<long, long>> halves;
    std::vector<const verify::PressureWindow*> ws;
    for (const auto& w : run.windows)
      if (w.phase == "overload") ws.push_back(&w);
    for (size_t i = 0; i < ws.size(); ++i) {
      for (const auto& [who, kib] : ws[i]->rss_kib) {
        long& half = i < ws.size() / 2 ? halves[who].first : halves[who].second;
        half = std::max(half, kib);
      }
    }
    bool bounded = true;
    std::string why;
    for (const auto& [who, h] : halves) {
      bounded = bounded && h.second <= 1.1 * h.first + 16 * 1024;
      why += who + " " + Fmt(h.first / 1024.0) + " -> " + Fmt(h.second / 1024.0) + " MiB; ";
    }
    target("memory", bounded, "second half's largest <= 1.1 x first half's + 16 MiB: " + why);
    target("drains", drain.backlog_end >= 0 && drain.backlog_end <= 2 * drain.offered_rate,
           "backlog " + std::to_string(over.backlog_end) + " at the overload's end, " +
               std::to_string(drain.backlog_end) + " after " + Fmt(drain.seconds) +
               " s of drain at " + Fmt(drain.offered_rate) + "/s");
    res.Add("capacity_per_s", Find(phases_seen, "saturate")->decided_per_s);
    res.Add("overload_offered_per_s", over.offered_rate);
    res.Add("overload_decided_per_s", over.decided_per_s);
  }
  if (scenario == "chaos" && clean) {
    for (const auto& p : phases_seen) {
      if (p.phase == "clean") continue;
      std::string codes;
      long other = 0;
      for (const auto& [code, n] : p.codes) {
        const auto c = static_cast<grpc::StatusCode>(code);
        if (c != grpc::StatusCode::OK && c != grpc::StatusCode::UNAVAILABLE &&
            c != grpc::StatusCode::FAILED_PRECONDITION && c != grpc::StatusCode::UNKNOWN)
          other += n;
      }
      target("codes-" + p.phase, other == 0,
             "only OK, UNAVAILABLE, UNKNOWN (a commit cut) and FAILED_PRECONDITION (a campaign "
             "just closed); others: " +
                 std::to_string(other) + "; worst Apply " + Fmt(p.apply_max_ms) + " ms");
    }
    // Recovered: the restart phase's windows after the one the restart
    // fell in (PostgreSQL down: UNAVAILABLE is the right answer there)
    // each answer >= 99% of their Applies OK (or FAILED_PRECONDITION: a
    // campaign just closed) and decide >= 0.9 x offered.
    std::vector<const verify::PressureWindow*> later;
    for (const auto& w : run.windows)
      if (w.phase == "restart") later.push_back(&w);
    if (!later.empty()) later.erase(later.begin());
    bool recovered = !later.empty();
    std::string why;
    for (const verify::PressureWindow* w : later) {
      const long answered =
          Code(*w, grpc::StatusCode::OK) + Code(*w, grpc::StatusCode::FAILED_PRECONDITION);
      recovered =
          recovered && answered >= 0.99 * w->sent && w->decided_per_s >= 0.9 * w->offered_rate;
      why += "t=" + Fmt(w->t_s) + " s: " + std::to_string(answered) + " of " +
             std::to_string(w->sent) + " answered, " + Fmt(w->decided_per_s) + " decided/s; ";
    }
    target("recovered", recovered,
           "the windows after the restart's (>= 99% answered, >= 0.9 x offered decided): " + why);
  }
  res.Add("value", clean ? clean->decide_p99_ms_median : 0.0);
  res.Add("unit", "ms_p99_clean");
  res.Print(error.empty(), error);
  return error.empty() ? 0 : 1;
}

}  // namespace bench
