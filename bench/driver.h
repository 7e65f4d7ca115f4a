#pragma once
// What every campaignq-bench command shares: its flags, its RESULT line,
// starting and stopping the service's binaries (with the verification kit's
// launcher, common/verify/process.h), gRPC stubs and small SQL helpers.
// Everything throws std::runtime_error (or pqxx's exceptions) on failure;
// main() turns that into a failed RESULT line.

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <utility>
#include <vector>

#include "campaignq/v1/campaignq.grpc.pb.h"
#include "common/verify/process.h"

namespace bench {

using Clock = std::chrono::steady_clock;
using Flags = std::map<std::string, std::string>;
using Child = campaignq::verify::Process;

// --key's value; `def` when absent; throws when absent and `def` is empty.
std::string Get(const Flags& f, const std::string& k, const std::string& def = "");
long GetInt(const Flags& f, const std::string& k, long def);

int64_t NowMicros();  // wall clock, microseconds since the epoch
double Seconds(Clock::duration d);
// The p-th percentile (nearest rank) of v; NaN when v is empty.
double Percentile(std::vector<double> v, double p);

// One RESULT line: label, run, ok, then key=value pairs in insertion order
// (what bench/report.cc reads).
class Result {
 public:
  Result(std::string label, long run);
  void Add(const std::string& k, const std::string& v);
  void Add(const std::string& k, double v);
  void Print(bool ok, const std::string& error);

 private:
  std::vector<std::pair<std::string, std::string>> kv_;
};

// The postmaster's pid, from this connection's backend.
pid_t Postmaster(pqxx::connection& c);
void Exec(pqxx::connection& c, const std::string& sql);
// Whether any application is pending: EXISTS over the pending partial
// index, never a parallel plan (a count(*) there chose a parallel seq scan
// past ~100,000 rows and forked PostgreSQL workers at every call).
bool AnyPending(pqxx::connection& c);

// Applications decided so far (approved, rejected, cancelled or failed), from
// the campaigns' counters: what the drain's 20 ms poller reads. Reading the
// queue itself cost the cluster far more than a poll should, and it was
// timed as ours: the pending index's head is the entries of everything
// decided since the last VACUUM, so even EXISTS took 6 ms a call (over 20%
// of a core) in W2 x10, and a count(*) forked parallel workers. The bench's
// campaigns have no waitlist, so decided == seeded means nothing is
// pending; the verification afterwards checks the rows themselves
// (invariant (b): every counter equals its rows; every application decided).
long DecidedByCounters(pqxx::connection& c);
// The first column of the first row, as a number.
long Count(pqxx::connection& c, const std::string& sql);

// Starts `binary`; throws when it cannot.
std::unique_ptr<Child> Spawn(const std::string& binary, std::vector<std::string> args,
                             const std::string& stderr_path);
// The first stdout line starting with `prefix`; throws on timeout or exit.
std::string WaitForLine(Child& child, const std::string& prefix, Clock::duration timeout);
// SIGTERM, then SIGKILL if it still runs after `timeout`.
void Stop(Child& child, Clock::duration timeout);
void StopAll(std::vector<std::unique_ptr<Child>>& children);

// `procs` campaignq-worker processes (--worker, --db, --batch, --poll-interval)
// with `threads` threads each; logs in --logdir named after `tag`.
std::vector<std::unique_ptr<Child>> StartWorkers(const Flags& f, long procs, long threads,
                                                 const std::string& tag);

struct Server {
  std::unique_ptr<Child> child;
  std::string address;
};
// campaignq-server (--server, --db) on a free port, once it listens.
Server StartServer(const Flags& f, const std::string& tag);

// n channels, one TCP connection each.
std::vector<std::unique_ptr<campaignq::v1::CampaignQueue::Stub>> Stubs(const std::string& address,
                                                                       long n);
// n uncapped campaigns without waitlist (ids 1..n on an empty table).
void CreateCampaigns(campaignq::v1::CampaignQueue::Stub& stub, long n);

}  // namespace bench
