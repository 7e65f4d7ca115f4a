// The high-availability tier: the real server and worker processes on a
// Patroni + etcd cluster (scripts/ha-cluster: 3 etcd members, 2 PostgreSQL
// 15 nodes), given the libpq multi-host URL with
// target_session_attrs=read-write, while the primary changes mid-storm:
// planned (patronictl switchover), a crashed postmaster (SIGKILL) and a
// whole node's death (Patroni and postmaster SIGKILLed). Each storm is held
// to every invariant of the verification kit (common/verify): every
// acknowledged Apply present afterwards, exact caps, approved_count =
// approved rows, each application decided exactly once (audit trigger),
// FCFS, everything decided in the end. The times from the fault to the first
// Apply answered OK and to the first decision committed after it are
// printed and bounded generously; the targets are in docs/ha.md.
//
// A last test runs the cluster without synchronous replication and reports
// (never fails on) the acknowledged Applies an unplanned failover lost.
//
// Every wait is bounded; none is a sleep standing in for synchronisation.

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "absl/random/random.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/verify/apply.h"
#include "gtest/gtest.h"
#include "support/poll.h"
#include "support/stack.h"
#include "support/storm.h"
#include "support/temp_dir.h"
#include "support/test_postgres.h"

namespace campaignq::testing {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr auto kStormTimeout = seconds(150);
constexpr auto kDecideTimeout = seconds(120);
// Generous bounds for a loaded 2-core machine; the measured figures are
// printed and docs/ha.md quotes them (targets: 5 s for a crashed
// postmaster, 15 s for a whole node with ttl 10).
constexpr auto kPostmasterCrashBound = seconds(30);
constexpr auto kWholeNodeBound = seconds(45);
constexpr int kStormApplicants = 15000;

double Seconds(Clock::duration d) { return duration_cast<milliseconds>(d).count() / 1000.0; }

// scripts/ha-cluster run as a child process: `start` in the constructor,
// `stop` in the destructor (also when the test failed: then the tail of
// every Patroni log is printed first).
class HaCluster {
 public:
  // `env`: the script's CAMPAIGNQ_HA_* settings.
  explicit HaCluster(std::map<std::string, std::string> env) : scratch_("ha-cluster") {
    static std::atomic<int> clusters{0};
    // Not under the scratch directory: the postgres user must reach it.
    const char* tmp = getenv("TMPDIR");
    dir_ = absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/campaignq-ha-", getpid(),
                        "-", clusters++);
    env["CAMPAIGNQ_HA_DIR"] = dir_;
    env["CAMPAIGNQ_HA_INFO"] = scratch_.File("info.env");
    env_ = std::move(env);
    auto lines = Run({"start"}, seconds(240));
    if (!lines.ok()) {
      ADD_FAILURE() << "scripts/ha-cluster start failed: " << lines.status();
      return;
    }
    const std::string info = ReadTextFile(scratch_.File("info.env"));
    for (absl::string_view line : absl::StrSplit(info, '\n', absl::SkipEmpty())) {
      std::pair<std::string, std::string> kv = absl::StrSplit(line, absl::MaxSplits('=', 1));
      info_[kv.first] = std::string(absl::StripSuffix(absl::StripPrefix(kv.second, "'"), "'"));
    }
    url_ = info_["CAMPAIGNQ_HA_DATABASE_URL"];
    EXPECT_FALSE(url_.empty()) << "no URL in " << scratch_.File("info.env");
    started_ = !url_.empty();
  }

  ~HaCluster() {
    if (!started_ && !std::ifstream(dir_ + "/cluster.env")) return;
    if (::testing::Test::HasFailure()) {
      for (int node = 1; node <= 3; ++node) {
        const std::string log = absl::StrCat(dir_, "/node", node, "/patroni.log");
        if (std::ifstream(log)) {
          std::cerr << "== " << log << " ends:\n" << verify::TailOfFile(log, 25) << "\n";
        }
      }
    }
    auto stopped = Run({"stop", dir_}, seconds(120));
    EXPECT_TRUE(stopped.ok()) << "scripts/ha-cluster stop failed: " << stopped.status();
  }

  bool started() const { return started_; }
  // The multi-host URL of database `campaignq` on the cluster.
  const std::string& url() const { return url_; }

  // Runs `scripts/ha-cluster ARGS` to completion; its stdout lines, or an
  // error with the end of its stderr.
  absl::StatusOr<std::vector<std::string>> Run(std::vector<std::string> args,
                                               Clock::duration timeout = seconds(120)) {
    ProcessOptions options;
    options.binary = CAMPAIGNQ_HA_CLUSTER_SCRIPT;
    options.args = args;
    options.env = env_;
    options.stderr_path = scratch_.File(absl::StrCat("ha-cluster-", runs_++, "-", args[0], ".log"));
    auto process = Process::Start(options);
    if (!process.ok()) return process.status();
    auto exit = (*process)->Wait(Deadline(timeout));
    if (!exit.ok()) return exit.status();
    auto lines = (*process)->AllStdoutLines(Deadline(seconds(10)));
    if (!exit->Success()) {
      return absl::InternalError(absl::StrCat("scripts/ha-cluster ", args[0], ": ",
                                              exit->ToString(), "; stderr ends:\n",
                                              verify::TailOfFile(options.stderr_path, 20)));
    }
    return lines;
  }

  // Waits until every node runs again (restarting a Patroni that was
  // killed) with its standbys streaming, one synchronously in sync mode.
  void Heal() {
    auto healed = Run({"heal", dir_}, seconds(180));
    ASSERT_TRUE(healed.ok()) << healed.status();
  }

  // SIGSTOPs (stall) or SIGCONTs the primary's walsenders.
  void StallStandbys(bool stall) {
    auto done = Run({stall ? "stall-standbys" : "resume-standbys", dir_}, seconds(30));
    ASSERT_TRUE(done.ok()) << done.status();
  }

  // Planned switchover; returns when the new primary accepts writes.
  void Switchover() {
    auto lines = Run({"failover", dir_}, seconds(90));
    ASSERT_TRUE(lines.ok()) << lines.status();
    for (const auto& line : *lines) std::cout << "ha-cluster: " << line << "\n";
  }

  // SIGKILLs the primary's postmaster (and, whole_node, its Patroni);
  // returns the moment of the kill on the steady clock.
  Clock::time_point KillPrimary(bool whole_node) {
    std::vector<std::string> args{"kill-primary"};
    if (whole_node) args.push_back("--whole-node");
    args.push_back(dir_);
    auto lines = Run(args, seconds(30));
    EXPECT_TRUE(lines.ok()) << lines.status();
    const auto steady_now = Clock::now();
    const auto system_now = std::chrono::system_clock::now();
    int64_t killed_ms = 0;
    if (lines.ok()) {
      for (const auto& line : *lines) {
        std::cout << "ha-cluster: " << line << "\n";
        const size_t at = line.rfind(" at ");
        if (absl::StartsWith(line, "killed") && at != std::string::npos) {
          std::vector<std::string> words = absl::StrSplit(line.substr(at + 4), ' ');
          EXPECT_TRUE(absl::SimpleAtoi(words[0], &killed_ms)) << line;
        }
      }
    }
    EXPECT_GT(killed_ms, 0) << "kill-primary printed no time";
    const auto since_kill =
        system_now - std::chrono::system_clock::time_point(milliseconds(killed_ms));
    return steady_now - duration_cast<Clock::duration>(since_kill);
  }

 private:
  ScopedTestDir scratch_;
  std::string dir_;
  std::map<std::string, std::string> env_;
  std::map<std::string, std::string> info_;
  std::string url_;
  bool started_ = false;
  int runs_ = 0;
};

// Watches the server's health from a thread (the only caller of the CLI
// meanwhile) while a failover happens.
class HealthWatch {
 public:
  explicit HealthWatch(Stack& stack)
      : thread_([this, &stack] {
          while (!stop_) {
            const bool serving = stack.Serving();
            if (!serving) saw_not_serving_ = true;
            serving_ = serving;
            ++checks_;
            std::this_thread::sleep_for(milliseconds(100));  // the pace
          }
        }) {}
  ~HealthWatch() { Stop(); }

  // Waits until a check that began after this call says SERVING.
  bool WaitUntilServing(Clock::time_point deadline) {
    const int64_t after = checks_ + 1;
    return PollUntil([&] { return checks_ > after && serving_; }, deadline);
  }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  bool saw_not_serving() const { return saw_not_serving_; }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<bool> saw_not_serving_{false};
  std::atomic<bool> serving_{false};
  std::atomic<int64_t> checks_{0};
  std::thread thread_;
};

// Probes the service after a fault with one Apply after another (a fresh
// user each, one attempt each) until one is answered OK after at least one
// was not: sessions that outlive a SIGKILLed postmaster for a few
// milliseconds may still commit (and, synchronously replicated, durably),
// so the recovery is the first OK after the outage was seen. Returns every
// probe; `outage_seen` is the first failed probe's send time (or the end,
// if none failed within 30 s of OKs). Without `expect_outage` (a
// switchover, probed once it is over) the first OK ends it.
std::vector<ApplyRecord> ProbeUntilRecovered(Stack& stack, int64_t campaign, bool expect_outage,
                                             Clock::time_point* outage_seen) {
  std::vector<ApplyRecord> probes;
  auto stub = stack.NewStub();
  absl::BitGen random;
  const auto deadline = Deadline(seconds(90));
  const auto ok_only_until = Deadline(expect_outage ? seconds(30) : seconds(0));
  bool failed = false;
  while (Clock::now() < deadline) {
    ApplyRecord record;
    record.campaign_id = campaign;
    record.user_id = absl::StrCat("probe-", probes.size());
    verify::RetryPolicy policy;  // give_up unset: one attempt
    policy.rpc_timeout = milliseconds(2000);
    verify::ApplyWithRetry(*stub, policy, random, &record);
    probes.push_back(record);
    if (!record.acknowledged && !failed) {
      failed = true;
      *outage_seen = record.first_send;
    }
    if (record.acknowledged && (failed || Clock::now() > ok_only_until)) {
      if (!failed && expect_outage) *outage_seen = Clock::now();
      return probes;
    }
    std::this_thread::sleep_for(milliseconds(20));  // the pace
  }
  return probes;
}

// The wall-clock time of `at` (a steady time point), in seconds since the
// epoch, for comparing with the database's clock (same machine).
double EpochSeconds(Clock::time_point at) {
  const auto system = std::chrono::system_clock::now() -
                      duration_cast<std::chrono::system_clock::duration>(Clock::now() - at);
  return duration_cast<milliseconds>(system.time_since_epoch()).count() / 1000.0;
}

// Seconds from `fault` to the first decision committed after it (the
// audit's clock), or -1 if there is none.
double FirstDecisionAfter(Stack& stack, Clock::time_point fault) {
  pqxx::connection connection(stack.database_url());
  pqxx::nontransaction txn(connection);
  const pqxx::row row = txn.exec_params1(
      "SELECT extract(epoch FROM min(changed_at))::float8 - $1::float8 FROM campaignq_check_audit "
      "WHERE old_status = 'pending' AND changed_at > to_timestamp($1::float8)",
      EpochSeconds(fault));
  return row[0].is_null() ? -1 : row[0].as<double>();
}

// What one failover cost, as printed and bounded.
struct Recovery {
  double first_apply_s = -1;
  double first_decision_s = -1;
  bool saw_not_serving = false;
};

enum class Fault { kSwitchover, kPostmasterKill, kWholeNodeKill };

const char* Name(Fault fault) {
  switch (fault) {
    case Fault::kSwitchover:
      return "switchover";
    case Fault::kPostmasterKill:
      return "postmaster SIGKILL";
    case Fault::kWholeNodeKill:
      return "whole-node SIGKILL";
  }
  return "?";
}

// The shared scenario: a storm against server + 3 workers on the cluster's
// multi-host URL, `fault` at a third of it, a probe Apply right after the
// fault, then every invariant. Returns the recovery times; `verdict` gets
// the kit's verdict (`expect_all_hold` false: reported, not asserted).
//
// `stall_standbys`: the replication link stalls (the primary's walsenders
// SIGSTOPped) for 300 acknowledged Applies before the fault, and resumes
// right after it: the asynchronous demonstration.
Recovery StormThroughFailover(HaCluster& cluster, const std::string& hint, Fault fault,
                              bool expect_all_hold = true, verify::Verdict* verdict_out = nullptr,
                              bool stall_standbys = false) {
  Recovery recovery;
  const std::string database = absl::StrCat("cq_", hint);
  ExecSql(cluster.url(), absl::StrCat("CREATE DATABASE ", database));
  Stack stack(hint, UrlWithDatabase(cluster.url(), database));
  stack.StartServer();
  InstallDecisionAudit(stack);
  const auto campaigns = CreateCampaigns(stack, 8, 60, "ha");
  const int64_t probe_campaign = CreateCampaign(stack, "ha-probe", 0);
  for (int i = 0; i < 3; ++i) stack.StartWorker({"skip-locked", 2, 10});

  auto records = Applicants(campaigns, kStormApplicants);
  verify::StormCounters counters;
  std::atomic<bool> storm_done{false};
  std::thread storm([&] {
    RunApplyStorm(stack, records, 16, Deadline(kStormTimeout), /*cancel_fraction=*/0.05, &counters);
    storm_done = true;
  });
  WaitForStormProgress(counters, records.size(), 0.1);
  if (stall_standbys) {
    // The asynchronous standby must be streaming when the link stalls, or
    // the demonstration shows a standby that was never there.
    cluster.Heal();
    cluster.StallStandbys(true);
    const int64_t stalled_at = counters.acknowledged;
    EXPECT_TRUE(PollUntil([&] { return counters.acknowledged >= stalled_at + 300; },
                          Deadline(seconds(60)), milliseconds(2)))
        << "no Apply acknowledged while the standby stalled";
  }
  HealthWatch health(stack);
  // Still Applies to send when the fault begins: it lands mid-storm (a
  // switchover takes seconds; the storm may end while it runs).
  const bool landed_mid_storm = !storm_done;
  Clock::time_point fault_at = Clock::now();
  switch (fault) {
    case Fault::kSwitchover:
      cluster.Switchover();
      break;
    case Fault::kPostmasterKill:
      fault_at = cluster.KillPrimary(/*whole_node=*/false);
      if (stall_standbys) cluster.StallStandbys(false);
      break;
    case Fault::kWholeNodeKill:
      fault_at = cluster.KillPrimary(/*whole_node=*/true);
      if (stall_standbys) cluster.StallStandbys(false);
      break;
  }
  Clock::time_point outage_seen = fault_at;
  const std::vector<ApplyRecord> probes =
      ProbeUntilRecovered(stack, probe_campaign, fault != Fault::kSwitchover, &outage_seen);
  const ApplyRecord& probe = probes.back();
  EXPECT_TRUE(probe.acknowledged) << "no Apply succeeded after the " << Name(fault)
                                  << ": last code " << probe.last_code << " " << probe.last_message;
  if (probe.acknowledged) recovery.first_apply_s = Seconds(probe.reply - fault_at);
  EXPECT_TRUE(health.WaitUntilServing(Deadline(seconds(60))))
      << "health did not come back after the " << Name(fault);
  health.Stop();
  recovery.saw_not_serving = health.saw_not_serving();
  storm.join();
  EXPECT_TRUE(landed_mid_storm) << "the " << Name(fault) << " did not land mid-storm";
  EXPECT_GE(std::count_if(records.begin(), records.end(),
                          [](const ApplyRecord& record) { return record.attempts > 1; }),
            1)
      << "no Apply of the storm saw the " << Name(fault);
  if (expect_all_hold) ExpectAllAcknowledged(records);
  records.insert(records.end(), probes.begin(), probes.end());

  EXPECT_TRUE(WaitUntilDecided(stack, records, Deadline(kDecideTimeout)));
  // The first decision committed once the outage was seen, timed from the
  // fault. The sessions a killed postmaster leaves behind end within
  // milliseconds (they notice its death at their next wait), so decisions
  // in the first 100 ms after the first failed probe are still theirs.
  const auto decisions_from =
      fault == Fault::kSwitchover ? outage_seen : outage_seen + milliseconds(100);
  const double decision_after_outage = FirstDecisionAfter(stack, decisions_from);
  if (decision_after_outage >= 0) {
    recovery.first_decision_s = decision_after_outage + Seconds(decisions_from - fault_at);
  }
  const verify::Verdict verdict = VerifyStorm(stack, records);
  if (expect_all_hold) ExpectAllHold(verdict);
  int64_t retried = 0;
  for (const auto& record : records) retried += record.attempts > 1 ? 1 : 0;
  std::cout << Name(fault) << ": storm of " << verdict.applicants
            << " Applies (8 campaigns x cap 60, "
            << "16 callers, 3 workers x 2 threads), " << verdict.acknowledged << " acknowledged, "
            << retried << " needed a retry, " << verdict.decided << " decided, "
            << verdict.seat_releases << " seats given back by cancels, violations "
            << verdict.violations.size() << "\n"
            << Name(fault) << ": first Apply OK " << recovery.first_apply_s
            << " s after the fault, first decision " << recovery.first_decision_s
            << " s after it (outage seen by a probe " << Seconds(outage_seen - fault_at)
            << " s after it, " << probes.size()
            << " probes); health NOT_SERVING seen: " << (recovery.saw_not_serving ? "yes" : "no")
            << "\n";
  if (verdict_out != nullptr) *verdict_out = verdict;
  stack.StopWorkers();
  stack.StopServer();
  return recovery;
}

// One synchronous cluster for the three failover kinds (each test heals it
// first: every node running, a synchronous standby streaming).
class HaSync : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = new HaCluster({{"CAMPAIGNQ_HA_SYNC", "on"}, {"CAMPAIGNQ_HA_FSYNC", "off"}});
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(cluster_->started());
    cluster_->Heal();
  }
  static HaCluster* cluster_;
};
HaCluster* HaSync::cluster_ = nullptr;

// Planned: patronictl switchover --force mid-storm. The old primary stops
// (its sessions end), the synchronous standby is promoted, the old primary
// follows it; libpq's target_session_attrs=read-write finds the new one.
TEST_F(HaSync, SwitchoverMidStormLosesNothing) {
  const Recovery recovery = StormThroughFailover(*cluster_, "switchover", Fault::kSwitchover);
  EXPECT_GE(recovery.first_apply_s, 0);
  EXPECT_LE(recovery.first_apply_s, Seconds(kPostmasterCrashBound));
}

// Unplanned: the primary's postmaster SIGKILLed mid-storm. Patroni
// (primary_start_timeout 0) promotes the synchronous standby; commits that
// were acknowledged were on both nodes; in-flight ones answer
// UNKNOWN/UNAVAILABLE and the callers' retries find them (ALREADY_EXISTS
// naming their own application) or apply again.
TEST_F(HaSync, PrimaryPostmasterKilledMidStormLosesNothing) {
  const Recovery recovery =
      StormThroughFailover(*cluster_, "postmaster_kill", Fault::kPostmasterKill);
  EXPECT_GE(recovery.first_apply_s, 0);
  EXPECT_LE(recovery.first_apply_s, Seconds(kPostmasterCrashBound));
  EXPECT_GE(recovery.first_decision_s, 0);
  EXPECT_LE(recovery.first_decision_s, Seconds(kPostmasterCrashBound));
  EXPECT_TRUE(recovery.saw_not_serving) << "health never left SERVING without a primary";
}

// Unplanned: the whole primary node dies (Patroni and postmaster): the
// standby waits for the leader key to expire (ttl 10 s), then is promoted.
TEST_F(HaSync, WholePrimaryNodeKilledMidStormLosesNothing) {
  const Recovery recovery = StormThroughFailover(*cluster_, "node_kill", Fault::kWholeNodeKill);
  EXPECT_GE(recovery.first_apply_s, 0);
  EXPECT_LE(recovery.first_apply_s, Seconds(kWholeNodeBound));
  EXPECT_GE(recovery.first_decision_s, 0);
  EXPECT_LE(recovery.first_decision_s, Seconds(kWholeNodeBound));
  EXPECT_TRUE(recovery.saw_not_serving) << "health never left SERVING without a primary";
}

// Why synchronous replication is the default: a whole-node death without it,
// after the replication link stalled for a moment (300 Applies acknowledged
// meanwhile; maximum_lag_on_failover raised so that the lagging standby is
// promoted, as an availability-first setting would). The dead node's
// walsenders die with it, so the WAL of those acknowledged Applies never
// reaches the standby: they are gone after the failover, and the test
// asserts that some are. (With synchronous replication the same stall holds
// every commit back: nothing is acknowledged that the standby lacks.)
TEST(HaAsync, WithoutSynchronousReplicationAnUnplannedFailoverLosesAcknowledgedApplies) {
  HaCluster cluster({{"CAMPAIGNQ_HA_SYNC", "off"},
                     {"CAMPAIGNQ_HA_FSYNC", "off"},
                     {"CAMPAIGNQ_HA_MAX_LAG", "268435456"}});
  ASSERT_TRUE(cluster.started());
  // Asynchronous: `start` does not wait for a standby; wait until it streams.
  cluster.Heal();
  verify::Verdict verdict;
  StormThroughFailover(cluster, "async_kill", Fault::kWholeNodeKill, /*expect_all_hold=*/false,
                       &verdict, /*stall_standbys=*/true);
  std::cout << "without synchronous replication: " << verdict.invariants.ack_missing
            << " acknowledged Applies missing after the failover (of " << verdict.acknowledged
            << "), " << verdict.invariants.ack_wrong_id << " stored under another id\n";
  EXPECT_GT(verdict.invariants.ack_missing + verdict.invariants.ack_wrong_id, 0)
      << "nothing acknowledged was lost: the stall did not hold the standby back";
}

}  // namespace
}  // namespace campaignq::testing
