#include "driver.h"

#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include "procs.h"

namespace bench {

namespace v1 = campaignq::v1;
using namespace std::chrono_literals;

std::string Get(const Flags& f, const std::string& k, const std::string& def) {
  auto it = f.find(k);
  if (it != f.end()) return it->second;
  if (def.empty()) throw std::runtime_error("missing --" + k);
  return def;
}
long GetInt(const Flags& f, const std::string& k, long def) {
  return std::stol(Get(f, k, std::to_string(def)));
}

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

Result::Result(std::string label, long run) {
  Add("label", label);
  Add("run", std::to_string(run));
}
void Result::Add(const std::string& k, const std::string& v) { kv_.emplace_back(k, v); }
void Result::Add(const std::string& k, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  Add(k, std::string(buf));
}
void Result::Print(bool ok, const std::string& error) {
  std::ostringstream out;
  out << "RESULT ok=" << (ok ? 1 : 0);
  for (auto& [k, v] : kv_) out << ' ' << k << '=' << v;
  if (!error.empty()) {
    std::string e = error;
    std::replace(e.begin(), e.end(), ' ', '_');
    std::replace(e.begin(), e.end(), '\n', '_');
    out << " error=" << e;
  }
  std::cout << out.str() << std::endl;
}

pid_t Postmaster(pqxx::connection& c) {
  pqxx::nontransaction n(c);
  pid_t backend = n.exec("SELECT pg_backend_pid()")[0][0].as<int>();
  return ParentPid(backend);
}

void Exec(pqxx::connection& c, const std::string& sql) {
  pqxx::nontransaction n(c);
  n.exec(sql);
}

bool AnyPending(pqxx::connection& c) {
  pqxx::nontransaction n(c);
  n.exec("SET max_parallel_workers_per_gather = 0");
  return n.exec("SELECT EXISTS (SELECT 1 FROM applications WHERE status = 'pending')")[0][0]
      .as<bool>();
}

long DecidedByCounters(pqxx::connection& c) {
  return Count(c,
               "SELECT coalesce(sum(approved_count + rejected_count + cancelled_count + "
               "failed_count), 0) FROM campaigns");
}

long Count(pqxx::connection& c, const std::string& sql) {
  pqxx::nontransaction n(c);
  return n.exec(sql)[0][0].as<long>();
}

// Starts `binary` with the kit's launcher; throws when it cannot.
std::unique_ptr<Child> Spawn(const std::string& binary, std::vector<std::string> args,
                             const std::string& stderr_path) {
  auto child = Child::Start({binary, std::move(args), {}, stderr_path});
  if (!child.ok()) throw std::runtime_error(std::string(child.status().message()));
  return *std::move(child);
}

// The first stdout line starting with `prefix`; throws on timeout or exit.
std::string WaitForLine(Child& child, const std::string& prefix, Clock::duration timeout) {
  auto line = child.WaitForLine(prefix, Clock::now() + timeout);
  if (!line.ok()) throw std::runtime_error(std::string(line.status().message()));
  return *line;
}

// SIGTERM, then SIGKILL if it still runs after `timeout`.
void Stop(Child& child, Clock::duration timeout) {
  if (!child.Signal(SIGTERM).ok()) return;  // already reaped
  if (child.Wait(Clock::now() + timeout).ok()) return;
  child.Signal(SIGKILL).IgnoreError();
  child.Wait(Clock::now() + 10s).IgnoreError();
}

std::vector<std::unique_ptr<Child>> StartWorkers(const Flags& f, long procs, long threads,
                                                 const std::string& tag) {
  std::vector<std::unique_ptr<Child>> workers;
  for (long i = 0; i < procs; ++i) {
    workers.push_back(
        Spawn(Get(f, "worker"),
              {"--database-url=" + Get(f, "db"), "--migrate=off",
               "--concurrency=" + std::to_string(threads), "--batch-size=" + Get(f, "batch", "500"),
               "--poll-interval=" + Get(f, "poll-interval", "2s")},
              Get(f, "logdir") + "/" + tag + "-worker" + std::to_string(i) + ".log"));
  }
  return workers;
}

void StopAll(std::vector<std::unique_ptr<Child>>& children) {
  for (auto& c : children) c->Signal(SIGTERM).IgnoreError();
  for (auto& c : children) Stop(*c, 15s);
}

Server StartServer(const Flags& f, const std::string& tag) {
  Server s;
  s.child = Spawn(Get(f, "server"),
                  {"--database-url=" + Get(f, "db"), "--migrate=off", "--listen=127.0.0.1:0"},
                  Get(f, "logdir") + "/" + tag + "-server.log");
  std::string line = WaitForLine(*s.child, "campaignq-server listening on ", 60s);
  s.address = line.substr(std::string("campaignq-server listening on ").size());
  return s;
}

std::vector<std::unique_ptr<v1::CampaignQueue::Stub>> Stubs(const std::string& address, long n) {
  std::vector<std::unique_ptr<v1::CampaignQueue::Stub>> stubs;
  for (long i = 0; i < n; ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // one TCP connection per channel
    stubs.push_back(v1::CampaignQueue::NewStub(
        grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args)));
  }
  return stubs;
}

void CreateCampaigns(v1::CampaignQueue::Stub& stub, long n) {
  for (long i = 0; i < n; ++i) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 10s);
    v1::CreateCampaignRequest req;
    req.set_name("bench-" + std::to_string(i + 1));
    req.set_waitlist(false);  // uncapped: max_participants unset
    v1::Campaign out;
    auto st = stub.CreateCampaign(&ctx, req, &out);
    if (!st.ok()) throw std::runtime_error("CreateCampaign: " + st.error_message());
  }
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(std::ceil(p / 100.0 * v.size()));
  return v[std::min(v.size() - 1, i == 0 ? 0 : i - 1)];
}

}  // namespace bench
