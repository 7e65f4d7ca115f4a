#include "common/verify/pressure.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <stdexcept>

#include "absl/random/random.h"
#include "check_statements.h"
#include "common/db/transaction.h"
#include "common/verify/check_sql.h"

namespace campaignq::verify {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

template <typename... Args>
pqxx::result Run(pqxx::transaction_base& txn, campaignq::sql::Statement statement, Args&&... args) {
  return txn.exec_params(CheckSql(statement), std::forward<Args>(args)...);
}

double Millis(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// Nearest rank; 0 for none.
double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(std::ceil(p / 100.0 * v.size()));
  return v[std::min(v.size() - 1, i == 0 ? 0 : i - 1)];
}

// Sleeps until `until` or until `stop` is set, looking every 50 ms: the
// pace of a background loop, never a wait for a condition.
void PauseUntil(Clock::time_point until, const std::atomic<bool>& stop) {
  while (!stop && Clock::now() < until) {
    std::this_thread::sleep_for(std::min<Clock::duration>(50ms, until - Clock::now()));
  }
}

}  // namespace

// --- CappedCampaigns ---------------------------------------------------------

CappedCampaigns::CappedCampaigns(Options options, std::unique_ptr<v1::CampaignQueue::Stub> stub)
    : options_(std::move(options)), stub_(std::move(stub)) {
  for (long i = 0; i < options_.count; ++i) open_.push_back(Create());
}

CappedCampaigns::~CappedCampaigns() { Stop(); }

int64_t CappedCampaigns::Create() {
  const long serial = ++serial_;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 30s);
  v1::CreateCampaignRequest req;
  req.set_name(options_.name_prefix + std::to_string(serial));
  const long cap = std::max(1L, options_.cap);
  req.set_max_participants(static_cast<int32_t>(std::max(1L, cap / 2 + (serial * 37) % cap)));
  req.set_waitlist(false);
  v1::Campaign out;
  grpc::Status st = stub_->CreateCampaign(&ctx, req, &out);
  if (!st.ok()) throw std::runtime_error("CreateCampaign: " + st.error_message());
  return out.id();
}

void CappedCampaigns::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void CappedCampaigns::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

int64_t CappedCampaigns::Pick(long k) {
  std::lock_guard<std::mutex> l(mu_);
  return open_[static_cast<size_t>(k) % open_.size()];
}

std::string CappedCampaigns::error() {
  std::lock_guard<std::mutex> l(mu_);
  return error_;
}

void CappedCampaigns::Loop() {
  std::unique_ptr<pqxx::connection> c;
  std::vector<std::pair<Clock::time_point, int64_t>> newest_at;  // (when, max id then)
  auto last_retention = Clock::now();
  while (!stop_) {
    PauseUntil(Clock::now() + 200ms, stop_);
    try {
      if (!c || !c->is_open()) c = std::make_unique<pqxx::connection>(options_.database_url);
      std::vector<int64_t> now_open;
      {
        std::lock_guard<std::mutex> l(mu_);
        now_open = open_;
      }
      std::vector<int64_t> full;
      {
        pqxx::nontransaction n(*c);
        for (const auto& row :
             n.exec_params("SELECT id FROM campaigns WHERE id = ANY($1::bigint[]) "
                           "AND approved_count >= max_participants",
                           db::BigintArrayLiteral(now_open)))
          full.push_back(row[0].as<int64_t>());
      }
      for (int64_t id : full) {
        const int64_t fresh = Create();
        {
          std::lock_guard<std::mutex> l(mu_);
          std::replace(open_.begin(), open_.end(), id, fresh);
        }
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + 30s);
        v1::CloseCampaignRequest req;
        req.set_campaign_id(id);
        v1::Campaign out;
        grpc::Status st = stub_->CloseCampaign(&ctx, req, &out);
        if (!st.ok()) throw std::runtime_error("CloseCampaign: " + st.error_message());
        closed_++;
      }
      if (options_.retention_seconds <= 0 || Clock::now() - last_retention < 1s) continue;
      last_retention = Clock::now();
      pqxx::nontransaction n(*c);
      newest_at.emplace_back(
          last_retention,
          n.exec("SELECT coalesce(max(id), 0) FROM applications")[0][0].as<int64_t>());
      int64_t horizon = 0;
      const auto retention = std::chrono::duration_cast<Clock::duration>(
          std::chrono::duration<double>(options_.retention_seconds));
      while (!newest_at.empty() && newest_at.front().first + retention <= last_retention) {
        horizon = newest_at.front().second;
        newest_at.erase(newest_at.begin());
      }
      if (horizon > 0) {
        n.exec_params("DELETE FROM applications WHERE id <= $1 AND status <> 'pending'", horizon);
      }
    } catch (const std::exception& e) {
      // A lost session (the chaos scenarios terminate sessions and restart
      // PostgreSQL): next round on a new one. A refused CreateCampaign or
      // CloseCampaign while the database is away is the same; only the
      // last such error is kept for the report.
      c.reset();
      std::lock_guard<std::mutex> l(mu_);
      error_ = e.what();
    }
  }
}

// --- the load ---------------------------------------------------------------

namespace {

struct Sent {
  ApplyRecord record;
  long window = 0;
};

// The database's state at a window's end.
struct DbSample {
  long decided = 0, backlog = 0, connections = 0, dead = 0, live = 0;
  long heap = 0, index = 0, pending_index = 0;
};

DbSample SampleDb(std::unique_ptr<pqxx::connection>& c, const std::string& url) {
  DbSample s;
  try {
    if (!c || !c->is_open()) c = std::make_unique<pqxx::connection>(url);
    pqxx::nontransaction n(*c);
    const pqxx::result r = Run(n, sql::kPressureSample);
    if (r.empty()) return s;
    s.decided = r[0][0].as<long>();
    s.backlog = r[0][1].as<long>();
    s.connections = r[0][2].as<long>();
    s.dead = r[0][3].as<long>();
    s.live = r[0][4].as<long>();
    s.heap = r[0][5].as<long>();
    s.index = r[0][6].as<long>();
    s.pending_index = r[0][7].as<long>();
  } catch (const std::exception&) {
    c.reset();  // the database is away (chaos): a window of unknowns (-1)
    s.decided = s.backlog = s.connections = s.dead = s.live = s.heap = s.index = s.pending_index =
        -1;
  }
  return s;
}

}  // namespace

PressureResult RunPressure(const PressureOptions& options, std::vector<PressurePhase> phases) {
  PressureResult result;
  std::unique_ptr<pqxx::connection> sc = std::make_unique<pqxx::connection>(options.database_url);
  {
    pqxx::nontransaction n(*sc);
    // The load starts 200 ms from now (`start` below).
    result.start_micros = Run(n, sql::kPressureClock)[0][0].as<int64_t>() + 200000;
  }
  CappedCampaigns::Options campaign_options = options.campaigns;
  campaign_options.database_url = options.database_url;
  CappedCampaigns campaigns(campaign_options, options.new_stub(-1));
  campaigns.Start();

  const auto start = Clock::now() + 200ms;
  const auto window = std::chrono::duration_cast<Clock::duration>(options.window);
  std::mutex pace_mu;
  Clock::time_point next_at = start;  // guarded by pace_mu
  double rate = 0;                    // guarded by pace_mu
  std::atomic<bool> stop{false};
  Clock::time_point stop_at = Clock::time_point::max();  // guarded by pace_mu
  std::atomic<long> next_k{0};
  std::vector<std::vector<Sent>> sent(options.senders);

  std::vector<std::thread> senders;
  for (int t = 0; t < options.senders; ++t) {
    senders.emplace_back([&, t] {
      auto stub = options.new_stub(t);
      absl::BitGen random;
      RetryPolicy no_retry;  // open loop: a failed Apply is counted, never resent
      no_retry.rpc_timeout = options.rpc_timeout;
      for (;;) {
        Clock::time_point at;
        {
          std::unique_lock<std::mutex> l(pace_mu);
          if (rate <= 0) {
            if (stop) return;
            l.unlock();
            std::this_thread::sleep_for(10ms);  // nothing offered in this phase: idle
            continue;
          }
          at = next_at;
          if (at >= stop_at) return;
          next_at += std::chrono::duration_cast<Clock::duration>(
              std::chrono::duration<double>(1.0 / rate));
        }
        std::this_thread::sleep_until(at);
        const long k = next_k++;
        Sent s;
        s.window = static_cast<long>((at - start) / window);
        s.record.campaign_id = campaigns.Pick(k);
        s.record.user_id = options.user_prefix + std::to_string(k);
        ApplyWithRetry(*stub, no_retry, random, &s.record);
        sent[t].push_back(std::move(s));
      }
    });
  }

  // The driver: phases of whole windows, sampled at each window's end.
  DbSample before = SampleDb(sc, options.database_url);
  long w = 0;
  double previous_decided_rate = 0;
  for (PressurePhase& phase : phases) {
    if (phase.on_start) phase.on_start();
    double phase_rate = phase.rate;
    if (phase.rate_times_decided > 0) phase_rate = phase.rate_times_decided * previous_decided_rate;
    {
      std::lock_guard<std::mutex> l(pace_mu);
      // After an idle phase the schedule resumes now; otherwise it runs on
      // (open loop: Applies due while the senders were behind are still sent).
      if (rate <= 0) next_at = std::max(next_at, start + window * w);
      rate = phase_rate;
    }
    const long windows = std::max<long>(
        1, (options.window.count() + phase.length.count() - 1) / options.window.count());
    std::vector<double> decided_rates;
    for (long i = 0; i < windows; ++i, ++w) {
      std::this_thread::sleep_until(start + window * (w + 1));
      DbSample now = SampleDb(sc, options.database_url);
      PressureWindow pw;
      pw.phase = phase.name;
      pw.index = w;
      pw.seconds = std::chrono::duration<double>(window).count();
      pw.t_s = pw.seconds * (w + 1);
      pw.offered_rate = phase_rate;
      pw.decided_per_s = now.decided >= 0 && before.decided >= 0
                             ? (now.decided - before.decided) / pw.seconds
                             : -1;
      if (pw.decided_per_s >= 0) decided_rates.push_back(pw.decided_per_s);
      pw.backlog = now.backlog;
      pw.connections = now.connections;
      pw.dead_tuples = now.dead;
      pw.live_tuples = now.live;
      pw.heap_bytes = now.heap;
      pw.index_bytes = now.index;
      pw.pending_index_bytes = now.pending_index;
      if (options.rss_kib) pw.rss_kib = options.rss_kib();
      if (now.decided >= 0) before = now;
      if (options.on_window) options.on_window(pw);
      result.windows.push_back(pw);
      if (phase.until_drained && now.backlog >= 0 && now.backlog <= 2 * phase_rate) {
        ++w;
        break;
      }
    }
    if (phase.on_end) phase.on_end();
    // The phase's second half: its first windows may still be settling.
    previous_decided_rate = 0;
    const size_t half = decided_rates.size() / 2;
    for (size_t i = half; i < decided_rates.size(); ++i) previous_decided_rate += decided_rates[i];
    if (decided_rates.size() > half) previous_decided_rate /= (decided_rates.size() - half);
  }
  {
    std::lock_guard<std::mutex> l(pace_mu);
    stop_at = start + window * w;
    stop = true;
  }
  for (auto& t : senders) t.join();
  campaigns.Stop();
  result.campaigns_closed = campaigns.closed();
  result.error = campaigns.error();

  // The Applies' own numbers, by the window they were due in.
  std::vector<Sent> all;
  for (auto& mine : sent) {
    for (auto& s : mine) all.push_back(std::move(s));
  }
  std::sort(all.begin(), all.end(),
            [](const Sent& a, const Sent& b) { return a.record.first_send < b.record.first_send; });
  std::vector<std::vector<double>> latencies(result.windows.size());
  for (Sent& s : all) {
    if (s.window < 0 || s.window >= static_cast<long>(result.windows.size())) continue;
    PressureWindow& pw = result.windows[s.window];
    pw.sent++;
    pw.codes[static_cast<int>(s.record.last_code)]++;
    if (s.record.acknowledged) {
      pw.acknowledged++;
      if (result.first_application_id == 0 || s.record.application_id < result.first_application_id)
        result.first_application_id = s.record.application_id;
    }
    latencies[s.window].push_back(Millis(s.record.reply - s.record.first_send));
  }
  for (size_t i = 0; i < result.windows.size(); ++i) {
    result.windows[i].apply_p50_ms = Percentile(latencies[i], 50);
    result.windows[i].apply_p99_ms = Percentile(latencies[i], 99);
    result.windows[i].apply_max_ms = Percentile(latencies[i], 100);
  }
  result.records.reserve(all.size());
  for (Sent& s : all) result.records.push_back(std::move(s.record));
  return result;
}

void FillDecisionLatency(const std::string& database_url, std::chrono::milliseconds window,
                         PressureResult* result) {
  if (result->first_application_id == 0) return;
  pqxx::connection c(database_url);
  pqxx::nontransaction n(c);
  const int64_t window_us = static_cast<int64_t>(window.count()) * 1000;
  for (const auto& row : Run(n, sql::kPressureDecisionLatency, result->start_micros, window_us,
                             result->first_application_id)) {
    const long w = row[0].as<long>();
    if (w < 0 || w >= static_cast<long>(result->windows.size())) continue;
    PressureWindow& pw = result->windows[w];
    pw.decide_p50_ms = row[1].is_null() ? 0 : row[1].as<double>();
    pw.decide_p99_ms = row[2].is_null() ? 0 : row[2].as<double>();
    pw.decided_rows = row[3].as<long>();
  }
}

std::vector<PhaseSummary> SummarizePhases(const std::vector<PressureWindow>& windows) {
  std::vector<PhaseSummary> out;
  size_t i = 0;
  while (i < windows.size()) {
    PhaseSummary p;
    p.phase = windows[i].phase;
    p.offered_rate = windows[i].offered_rate;
    std::vector<double> p50s, p99s, decided;
    for (; i < windows.size() && windows[i].phase == p.phase; ++i) {
      const PressureWindow& w = windows[i];
      p.seconds += w.seconds;
      p.sent += w.sent;
      p.acknowledged += w.acknowledged;
      for (const auto& [code, n] : w.codes) p.codes[code] += n;
      p.apply_p99_ms_max = std::max(p.apply_p99_ms_max, w.apply_p99_ms);
      p.apply_max_ms = std::max(p.apply_max_ms, w.apply_max_ms);
      if (w.decided_rows > 0) {
        p50s.push_back(w.decide_p50_ms);
        p99s.push_back(w.decide_p99_ms);
        p.decide_p99_ms_max = std::max(p.decide_p99_ms_max, w.decide_p99_ms);
      }
      if (w.decided_per_s >= 0) decided.push_back(w.decided_per_s);
      p.backlog_max = std::max(p.backlog_max, w.backlog);
      if (w.backlog >= 0) p.backlog_end = w.backlog;
      p.dead_tuples_max = std::max(p.dead_tuples_max, w.dead_tuples);
      if (w.heap_bytes >= 0) {
        p.heap_bytes_end = w.heap_bytes;
        p.index_bytes_end = w.index_bytes;
        p.pending_index_bytes_end = w.pending_index_bytes;
      }
      for (const auto& [who, kib] : w.rss_kib) p.rss_kib_max = std::max(p.rss_kib_max, kib);
    }
    p.decide_p50_ms_median = Percentile(p50s, 50);
    p.decide_p99_ms_median = Percentile(p99s, 50);
    for (double d : decided) p.decided_per_s += d;
    if (!decided.empty()) p.decided_per_s /= decided.size();
    out.push_back(p);
  }
  return out;
}

namespace {
std::string Codes(const std::map<int, long>& codes) {
  std::string s;
  for (const auto& [code, n] : codes) {
    if (!s.empty()) s += ",";
    s += std::to_string(code) + ":" + std::to_string(n);
  }
  return s.empty() ? "none" : s;
}
double Mib(long bytes) { return bytes < 0 ? -1 : bytes / 1048576.0; }
}  // namespace

std::string FormatWindow(const PressureWindow& w) {
  std::ostringstream o;
  o.precision(4);
  o << "WINDOW phase=" << w.phase << " t_s=" << w.t_s << " offered_per_s=" << w.offered_rate
    << " sent=" << w.sent << " acknowledged=" << w.acknowledged << " codes=" << Codes(w.codes)
    << " apply_p50_ms=" << w.apply_p50_ms << " apply_p99_ms=" << w.apply_p99_ms
    << " apply_max_ms=" << w.apply_max_ms << " decide_p50_ms=" << w.decide_p50_ms
    << " decide_p99_ms=" << w.decide_p99_ms << " decided_per_s=" << w.decided_per_s
    << " backlog=" << w.backlog << " dead_tuples=" << w.dead_tuples
    << " live_tuples=" << w.live_tuples << " heap_mib=" << Mib(w.heap_bytes)
    << " index_mib=" << Mib(w.index_bytes) << " pending_index_mib=" << Mib(w.pending_index_bytes)
    << " connections=" << w.connections << " rss_mib=";
  for (size_t i = 0; i < w.rss_kib.size(); ++i) {
    o << (i ? "," : "") << w.rss_kib[i].first << ":" << w.rss_kib[i].second / 1024.0;
  }
  return o.str();
}

std::string FormatPhase(const PhaseSummary& p) {
  std::ostringstream o;
  o.precision(4);
  o << "PHASE phase=" << p.phase << " seconds=" << p.seconds << " offered_per_s=" << p.offered_rate
    << " sent=" << p.sent << " acknowledged=" << p.acknowledged << " codes=" << Codes(p.codes)
    << " decide_p50_ms=" << p.decide_p50_ms_median << " decide_p99_ms=" << p.decide_p99_ms_median
    << " decide_p99_ms_max=" << p.decide_p99_ms_max << " apply_p99_ms_max=" << p.apply_p99_ms_max
    << " apply_max_ms=" << p.apply_max_ms << " decided_per_s=" << p.decided_per_s
    << " backlog_max=" << p.backlog_max << " backlog_end=" << p.backlog_end
    << " dead_tuples_max=" << p.dead_tuples_max << " heap_mib=" << Mib(p.heap_bytes_end)
    << " index_mib=" << Mib(p.index_bytes_end)
    << " pending_index_mib=" << Mib(p.pending_index_bytes_end)
    << " rss_mib_max=" << p.rss_kib_max / 1024.0;
  return o.str();
}

// --- faults -----------------------------------------------------------------

HorizonPin::HorizonPin(std::string database_url, int scanners,
                       std::chrono::milliseconds scan_interval)
    : url_(std::move(database_url)), scanners_(scanners), interval_(scan_interval) {}

HorizonPin::~HorizonPin() { Release(); }

void HorizonPin::Pin() {
  holder_ = std::make_unique<pqxx::connection>(url_);
  held_ = std::make_unique<pqxx::work>(*holder_);
  xid_ = Run(*held_, sql::kPressurePinHorizon)[0][0].as<int64_t>();
  stop_ = false;
  for (int i = 0; i < scanners_; ++i) {
    threads_.emplace_back([this] {
      try {
        pqxx::connection c(url_);
        pqxx::transaction<pqxx::repeatable_read> snapshot(c);
        while (!stop_) {
          Run(snapshot, sql::kPressureScanApplications);
          scans_++;
          PauseUntil(Clock::now() + interval_, stop_);
        }
      } catch (const std::exception& e) {
        std::fprintf(stderr, "pressure: a horizon scanner ended: %s\n", e.what());
      }
    });
  }
}

void HorizonPin::Release() {
  stop_ = true;
  for (auto& t : threads_) t.join();
  threads_.clear();
  if (held_) {
    try {
      held_->abort();
    } catch (const std::exception&) {
    }
  }
  held_.reset();
  holder_.reset();
}

SessionTerminator::SessionTerminator(std::string database_url, std::chrono::milliseconds period)
    : url_(std::move(database_url)), period_(period) {}

SessionTerminator::~SessionTerminator() { Stop(); }

void SessionTerminator::Start() {
  stop_ = false;
  thread_ = std::thread([this] {
    std::unique_ptr<pqxx::connection> c;
    while (!stop_) {
      try {
        if (!c || !c->is_open()) c = std::make_unique<pqxx::connection>(url_);
        pqxx::nontransaction n(*c);
        terminated_ += Run(n, sql::kPressureTerminateOne, kServicePattern)[0][0].as<long>();
      } catch (const std::exception&) {
        c.reset();  // the database refused or restarted: try again next period
      }
      PauseUntil(Clock::now() + period_, stop_);
    }
  });
}

void SessionTerminator::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

IdleConnections::IdleConnections(std::string database_url, int count)
    : url_(std::move(database_url)), count_(count) {}

IdleConnections::~IdleConnections() { Release(); }

void IdleConnections::Hold() {
  while (static_cast<int>(held_.size()) < count_) {
    try {
      held_.push_back(std::make_unique<pqxx::connection>(url_));
    } catch (const pqxx::broken_connection&) {
      return;  // too many clients: every slot is held
    }
  }
}

void IdleConnections::Release() { held_.clear(); }

}  // namespace campaignq::verify
