#pragma once
// The pressure kit: an open-loop load of Applies into capped campaigns that
// are closed and replaced as they fill, run in phases (a clean phase, a
// phase under a fault, a phase after it), sampled in fixed windows, and the
// faults the pressure scenarios inject: a pinned xmin horizon, campaignq's
// sessions terminated, the database's connections held. The benchmark
// (campaignq-bench soak and pressure) and the pressure test tier
// (tests/pressure_test.cc) run the same scenarios with it; every run is
// judged afterwards by the kit's checks (checks.h) on the records it keeps.
// Its SQL is sql/checks/pressure.sql.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "campaignq/v1/campaignq.grpc.pb.h"
#include "common/verify/apply.h"

namespace campaignq::verify {

// --- capped campaigns, replaced as they fill -------------------------------

// `count` capped campaigns without waitlist open at any time (caps spread
// over cap/2..3cap/2, so that campaigns filled round robin do not all fill
// in the same moment). A thread closes each full one (CloseCampaign) every
// 200 ms and opens a new one in its place; with retention_seconds > 0 it
// also deletes decided applications older than that by id range, once a
// second (what an operator's retention job would do).
class CappedCampaigns {
 public:
  struct Options {
    std::string database_url;
    long count = 100;
    long cap = 100;
    std::string name_prefix = "pressure-";
    double retention_seconds = 0;  // 0: keep everything (the checks need it)
  };
  // Creates the first `count` campaigns through `stub`; throws on failure.
  CappedCampaigns(Options options, std::unique_ptr<v1::CampaignQueue::Stub> stub);
  ~CappedCampaigns();  // stops the thread
  CappedCampaigns(const CappedCampaigns&) = delete;
  CappedCampaigns& operator=(const CappedCampaigns&) = delete;

  void Start();  // the replacing thread
  void Stop();
  // The open campaign for Apply number k (round robin).
  int64_t Pick(long k);
  long closed() const { return closed_; }
  // An error the thread met (it stops replacing then); empty while none.
  std::string error();

 private:
  int64_t Create();
  void Loop();

  const Options options_;
  std::unique_ptr<v1::CampaignQueue::Stub> stub_;
  std::mutex mu_;
  std::vector<int64_t> open_;  // guarded by mu_
  std::string error_;          // guarded by mu_
  long serial_ = 0;
  std::atomic<long> closed_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// --- the load ---------------------------------------------------------------

struct PressurePhase {
  std::string name;
  std::chrono::milliseconds length{0};
  double rate = 0;  // Applies offered per second
  // > 0: the offered rate is this times the previous phase's decisions per
  // second instead (overload: 1.5 x what the machine decided meanwhile).
  double rate_times_decided = 0;
  // Ends the phase early at the first window end with the backlog at most
  // 2 s of its arrivals (a drain).
  bool until_drained = false;
  // Called on the driver's thread as the phase begins and ends (start and
  // stop a fault). Must return promptly.
  std::function<void()> on_start, on_end;
};

// One sampling window.
struct PressureWindow {
  std::string phase;
  long index = 0;
  double t_s = 0;  // its end, seconds from the load's start
  double seconds = 0;
  double offered_rate = 0;
  long sent = 0, acknowledged = 0;
  std::map<int, long> codes;  // gRPC code -> Applies that ended with it (OK included)
  double apply_p50_ms = 0, apply_p99_ms = 0, apply_max_ms = 0;  // Apply call -> its reply
  double decided_per_s = 0;
  long backlog = 0;  // pending applications at the window's end
  long connections = 0, dead_tuples = 0, live_tuples = 0;
  long heap_bytes = 0, index_bytes = 0, pending_index_bytes = 0;
  std::vector<std::pair<std::string, long>> rss_kib;  // from PressureOptions::rss_kib
  // Filled after the run (PressureRun::decisions): Apply -> decision of the
  // applications created in this window, the database's clocks.
  double decide_p50_ms = 0, decide_p99_ms = 0;
  long decided_rows = 0;
};

struct PressureOptions {
  std::string database_url;
  // A stub for sender thread i (and for the campaigns' manager: i = -1).
  std::function<std::unique_ptr<v1::CampaignQueue::Stub>(int i)> new_stub;
  CappedCampaigns::Options campaigns;
  int senders = 64;  // synchronous callers; Apply k is sent at its time, by a free one
  std::chrono::milliseconds window{10000};
  std::chrono::milliseconds rpc_timeout{30000};
  // Resident memory of the processes under test, sampled every window.
  std::function<std::vector<std::pair<std::string, long>>()> rss_kib;
  // Called with each window as it ends (progress output).
  std::function<void(const PressureWindow&)> on_window;
  std::string user_prefix = "p-";
};

struct PressureResult {
  std::vector<PressureWindow> windows;
  std::vector<ApplyRecord> records;  // every Apply sent, in send order
  int64_t first_application_id = 0;  // 0: none acknowledged
  int64_t start_micros = 0;          // the database's clock at the load's start
  long campaigns_closed = 0;
  std::string error;  // the manager's, if it failed
};

// Runs the phases in order and returns when the last one ends and every
// Apply sent has its reply. The decision latencies are not in the windows
// yet: call FillDecisionLatency once the backlog is decided.
PressureResult RunPressure(const PressureOptions& options, std::vector<PressurePhase> phases);

// Fills each window's decide_* fields (PressureDecisionLatency). Throws on a
// database error.
void FillDecisionLatency(const std::string& database_url, std::chrono::milliseconds window,
                         PressureResult* result);

// A phase's windows summed up: p50/p99 over its windows' p50s and p99s are
// not percentiles of its Applies, so these are the median and the maximum
// of the windows' values.
struct PhaseSummary {
  std::string phase;
  double seconds = 0, offered_rate = 0, decided_per_s = 0;
  long sent = 0, acknowledged = 0;
  std::map<int, long> codes;
  double apply_p99_ms_max = 0, apply_max_ms = 0;
  double decide_p50_ms_median = 0, decide_p99_ms_median = 0, decide_p99_ms_max = 0;
  long backlog_max = 0, backlog_end = 0, dead_tuples_max = 0;
  long heap_bytes_end = 0, index_bytes_end = 0, pending_index_bytes_end = 0;
  long rss_kib_max = 0;  // the largest process's largest sample
};
std::vector<PhaseSummary> SummarizePhases(const std::vector<PressureWindow>& windows);

// "p50=... p99=..." lines for people and bench/report: one per window and
// one per phase, each starting with `tag` (WINDOW, PHASE).
std::string FormatWindow(const PressureWindow& w);
std::string FormatPhase(const PhaseSummary& p);

// --- faults -----------------------------------------------------------------

// The pinned horizon: one session runs `BEGIN; SELECT txid_current();` and
// stays idle in that transaction; `scanners` REPEATABLE READ sessions scan
// `applications` (PressureScanApplications) every `scan_interval` in one
// snapshot each. Nothing deleted after the transaction id can be vacuumed
// until Release() (or the destructor) ends them all.
class HorizonPin {
 public:
  HorizonPin(std::string database_url, int scanners = 4,
             std::chrono::milliseconds scan_interval = std::chrono::milliseconds(1000));
  ~HorizonPin();
  HorizonPin(const HorizonPin&) = delete;
  HorizonPin& operator=(const HorizonPin&) = delete;
  void Pin();  // returns once the transaction id is taken; throws on failure
  void Release();
  int64_t xid() const { return xid_; }
  long scans() const { return scans_; }

 private:
  const std::string url_;
  const int scanners_;
  const std::chrono::milliseconds interval_;
  std::unique_ptr<pqxx::connection> holder_;
  std::unique_ptr<pqxx::work> held_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  std::atomic<long> scans_{0};
  int64_t xid_ = 0;
};

// Terminates one random campaignq session (application_name LIKE
// kServicePattern: the server's and the workers') of the database at
// `database_url` every `period`, from Start() to Stop(). Its own session
// has no application_name and is never a victim.
class SessionTerminator {
 public:
  static constexpr const char* kServicePattern = "campaignq-%";
  SessionTerminator(std::string database_url, std::chrono::milliseconds period);
  ~SessionTerminator();
  void Start();
  void Stop();
  long terminated() const { return terminated_; }

 private:
  const std::string url_;
  const std::chrono::milliseconds period_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<long> terminated_{0};
};

// Up to `count` idle connections to the database at `database_url`, opened
// until the server refuses one (too many clients) and held until Release().
class IdleConnections {
 public:
  IdleConnections(std::string database_url, int count);
  ~IdleConnections();
  void Hold();  // returns with as many as could be opened
  void Release();
  int held() const { return static_cast<int>(held_.size()); }

 private:
  const std::string url_;
  const int count_;
  std::vector<std::unique_ptr<pqxx::connection>> held_;
};

}  // namespace campaignq::verify
