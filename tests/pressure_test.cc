// The pressure tier: the real server and workers under a steady open-loop
// load of Applies (the pressure kit, common/verify/pressure.h, that
// `bench/pressure` measures with) while the xmin horizon is pinned, while
// more is offered than the machine decides, and while the connections to
// PostgreSQL are cut, exhausted and restarted. Sizes are CI's (a minute or
// so each on a loaded 2-core machine); the latency targets are the
// benchmark's (bench/RESULTS.md, "Pressure"). Asserted here is what holds
// on any machine: every invariant, nothing acknowledged lost, nothing
// pending after the drain, refusals fast and of the documented codes, memory
// that stops growing, and recovery without help.

#include "common/verify/pressure.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "support/poll.h"
#include "support/stack.h"
#include "support/storm.h"
#include "support/test_postgres.h"

namespace campaignq::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

long RssKib(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

verify::PressureOptions LoadOn(Stack& stack, int workers, long campaigns, long cap) {
  verify::PressureOptions options;
  options.database_url = stack.database_url();
  options.new_stub = [&stack](int) { return stack.NewStub(); };
  options.campaigns.count = campaigns;
  options.campaigns.cap = cap;
  options.senders = 32;
  options.window = seconds(5);
  options.rpc_timeout = seconds(20);
  options.rss_kib = [&stack, workers] {
    std::vector<std::pair<std::string, long>> rss{{"server", RssKib(stack.server()->pid())}};
    for (int i = 0; i < workers; ++i)
      rss.emplace_back(absl::StrCat("worker", i), RssKib(stack.worker(i)->pid()));
    return rss;
  };
  options.on_window = [](const verify::PressureWindow& w) {
    std::cout << "window phase=" << w.phase << " t_s=" << w.t_s
              << " decided_per_s=" << w.decided_per_s << " backlog=" << w.backlog
              << " dead_tuples=" << w.dead_tuples << " connections=" << w.connections << std::endl;
  };
  return options;
}

verify::PressurePhase Phase(const std::string& name, seconds length, double rate) {
  verify::PressurePhase phase;
  phase.name = name;
  phase.length = length;
  phase.rate = rate;
  return phase;
}

// Everything decided and every invariant held (the decision audit included).
void ExpectEveryPromiseKept(Stack& stack, const verify::PressureResult& run) {
  ASSERT_TRUE(WaitUntilDecided(stack, run.records, Deadline(seconds(180))))
      << "still pending three minutes after the load";
  const verify::Verdict verdict = VerifyStorm(stack, run.records);
  ExpectAllHold(verdict);
  EXPECT_GT(verdict.acknowledged, 0);
  std::cout << "pressure: " << verdict.applicants << " Applies, " << verdict.acknowledged
            << " acknowledged, " << verdict.decided << " decided, " << run.campaigns_closed
            << " campaigns closed\n";
}

// The codes Applies ended with, over the windows of `phase` ("" for all).
std::map<int, long> CodesOf(const verify::PressureResult& run, const std::string& phase) {
  std::map<int, long> codes;
  for (const auto& w : run.windows) {
    if (!phase.empty() && w.phase != phase) continue;
    for (const auto& [code, n] : w.codes) codes[code] += n;
  }
  return codes;
}

long Count(const std::map<int, long>& codes, grpc::StatusCode code) {
  auto it = codes.find(static_cast<int>(code));
  return it == codes.end() ? 0 : it->second;
}

// A transaction that took a transaction id and went idle, and four
// REPEATABLE READ sessions scanning `applications`, for 25 s of a steady
// load: nothing decided meanwhile can be vacuumed. Decisions go on, nothing
// is lost, and after the release the backlog is small again.
TEST(Pressure, PinnedHorizonThenReleased) {
  Stack stack("pinned");
  stack.StartServer();
  InstallDecisionAudit(stack);
  for (int i = 0; i < 2; ++i) stack.StartWorker({"skip-locked", 4, 100});
  verify::HorizonPin pin(stack.database_url());
  int64_t dead_at_release = 0;
  std::vector<verify::PressurePhase> phases{Phase("clean", seconds(10), 150),
                                            Phase("pinned", seconds(25), 150),
                                            Phase("released", seconds(15), 150)};
  phases[1].on_start = [&] { pin.Pin(); };
  phases[1].on_end = [&] {
    dead_at_release =
        stack.Scalar("SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'applications'");
    pin.Release();
  };
  const verify::PressureResult run = verify::RunPressure(LoadOn(stack, 2, 30, 20), phases);
  EXPECT_GT(pin.xid(), 0);
  EXPECT_GE(pin.scans(), 4) << "the REPEATABLE READ sessions never scanned";
  std::cout << "dead tuples at the release: " << dead_at_release << "\n";
  // Every Apply answered OK, or FAILED_PRECONDITION for a campaign closed
  // as it filled.
  const auto codes = CodesOf(run, "");
  long sent = 0;
  for (const auto& [code, n] : codes) sent += n;
  EXPECT_EQ(
      Count(codes, grpc::StatusCode::OK) + Count(codes, grpc::StatusCode::FAILED_PRECONDITION),
      sent);
  EXPECT_TRUE(run.error.empty()) << run.error;
  // Released: the backlog is back under 10 s of arrivals by the end.
  ASSERT_FALSE(run.windows.empty());
  EXPECT_LE(run.windows.back().backlog, 1500);
  ExpectEveryPromiseKept(stack, run);
  stack.StopWorkers();
  stack.StopServer();
}

// A burst of async Applies over `connections` connections of their own
// (one caller: the same address), many more at once than the server
// queues for its writer, while each stored row costs 1 ms (the writer
// stores at most 1,000 a second, far fewer than the burst sends): each
// Apply is stored or refused with RESOURCE_EXHAUSTED at once, never left
// to time out; what was acknowledged is stored and decided.
struct Burst {
  std::vector<ApplyRecord> records;
  std::vector<double> refused_ms;  // RESOURCE_EXHAUSTED answers' latency
};

Burst AsyncBurst(Stack& stack, const std::vector<int64_t>& campaigns, int count, int connections) {
  std::vector<std::unique_ptr<v1::CampaignQueue::Stub>> stubs;
  for (int i = 0; i < connections; ++i) {
    // Channels to one address share one connection (gRPC's global
    // subchannel pool), and a connection carries at most
    // --max-concurrent-streams calls at once: a local pool each.
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    stubs.push_back(v1::CampaignQueue::NewStub(
        grpc::CreateCustomChannel(stack.address(), grpc::InsecureChannelCredentials(), args)));
  }
  struct Call {
    grpc::ClientContext ctx;
    v1::ApplyRequest request;
    v1::Application reply;
    std::chrono::steady_clock::time_point sent;
  };
  std::vector<std::unique_ptr<Call>> calls(count);
  Burst burst;
  burst.records.resize(count);
  std::mutex mu;
  std::condition_variable all_done;
  int done = 0;
  for (int i = 0; i < count; ++i) {
    calls[i] = std::make_unique<Call>();
    Call& call = *calls[i];
    ApplyRecord& record = burst.records[i];
    record.campaign_id = campaigns[i % campaigns.size()];
    record.user_id = absl::StrCat("burst-", i);
    call.request.set_campaign_id(record.campaign_id);
    call.request.set_user_id(record.user_id);
    call.ctx.set_deadline(std::chrono::system_clock::now() + seconds(60));
    call.sent = std::chrono::steady_clock::now();
    record.first_send = call.sent;
    record.attempts = 1;
    stubs[i % connections]->async()->Apply(
        &call.ctx, &call.request, &call.reply, [&, i](grpc::Status status) {
          ApplyRecord& r = burst.records[i];
          r.reply = std::chrono::steady_clock::now();
          r.last_code = status.error_code();
          r.last_message = status.error_message();
          if (status.ok()) {
            r.acknowledged = true;
            r.application_id = calls[i]->reply.id();
          }
          std::lock_guard<std::mutex> l(mu);
          if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
            burst.refused_ms.push_back(
                std::chrono::duration<double, std::milli>(r.reply - calls[i]->sent).count());
          }
          if (++done == count) all_done.notify_all();
        });
  }
  const auto sent_all = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> l(mu);
  EXPECT_TRUE(all_done.wait_for(l, seconds(120), [&] { return done == count; }))
      << done << " of " << count << " Applies answered";
  std::cout
      << "burst: " << count << " sent in "
      << std::chrono::duration<double>(sent_all - calls[0]->sent).count() << " s, answered in "
      << std::chrono::duration<double>(std::chrono::steady_clock::now() - calls[0]->sent).count()
      << " s\n";
  return burst;
}

// More Applies than one slowed worker thread decides, for 20 s: the backlog
// grows in the table, not in any process; Applies keep being answered
// quickly; the backlog drains afterwards. Then the burst above.
TEST(Pressure, SustainedOverloadIsBoundedAndDrains) {
  Stack stack("overload");
  // The burst's bound (below): a caller alone may have 400 / 2 Applies
  // waiting, fewer than its 8 connections carry at once (8 x 100 streams).
  // The load before it keeps at most 40 waiting.
  stack.StartServer({"--max-queued-applies=400"});
  InstallDecisionAudit(stack);
  // Each decided row costs 2 ms: one worker thread decides at most ~500/s,
  // below the 600/s offered, on any machine.
  ExecSql(stack.database_url(), R"sql(
    CREATE FUNCTION test_slow_decision() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_sleep(0.002); RETURN NEW; END $$;
    CREATE TRIGGER test_slow_decision BEFORE UPDATE ON applications
      FOR EACH ROW WHEN (OLD.status = 'pending') EXECUTE FUNCTION test_slow_decision();
  )sql");
  stack.StartWorker({"skip-locked", 1, 100});
  verify::PressurePhase drain = Phase("drain", seconds(60), 50);
  drain.until_drained = true;
  drain.on_start = [&] {
    ExecSql(stack.database_url(), "DROP TRIGGER test_slow_decision ON applications");
  };
  std::vector<verify::PressurePhase> phases{Phase("overload", seconds(20), 600), drain};
  verify::PressureResult run = verify::RunPressure(LoadOn(stack, 1, 40, 50), phases);
  const auto over = CodesOf(run, "overload");
  long sent = 0;
  for (const auto& [code, n] : over) sent += n;
  EXPECT_EQ(Count(over, grpc::StatusCode::OK) + Count(over, grpc::StatusCode::FAILED_PRECONDITION),
            sent)
      << "an Apply failed under overload";
  // The backlog grew: the workers really were behind.
  long backlog_max = 0;
  for (const auto& w : run.windows) {
    if (w.phase == "overload") backlog_max = std::max(backlog_max, w.backlog);
  }
  EXPECT_GE(backlog_max, 500) << "no overload: the scenario is not testing anything";
  // Memory: every process's RSS in the overload's last window within 1.25 x
  // (+ 16 MiB) of its first; the backlog lives in PostgreSQL.
  std::vector<const verify::PressureWindow*> overload;
  for (const auto& w : run.windows) {
    if (w.phase == "overload") overload.push_back(&w);
  }
  ASSERT_GE(overload.size(), 2u);
  for (size_t p = 0; p < overload.front()->rss_kib.size(); ++p) {
    const long first = overload.front()->rss_kib[p].second,
               last = overload.back()->rss_kib[p].second;
    EXPECT_LE(last, first * 1.25 + 16 * 1024) << overload.front()->rss_kib[p].first;
  }
  // Drained within the phase, by itself.
  EXPECT_EQ(run.windows.back().phase, "drain");
  EXPECT_LE(run.windows.back().backlog, 100);

  // The burst against the writer's queue bound: 800 Applies at a time from
  // one caller, whose share is 200.
  ExecSql(stack.database_url(), R"sql(
    CREATE FUNCTION test_slow_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_sleep(0.001); RETURN NULL; END $$;
    CREATE TRIGGER test_slow_insert AFTER INSERT ON applications
      FOR EACH ROW EXECUTE FUNCTION test_slow_insert();
  )sql");
  const auto campaigns = CreateCampaigns(stack, 10, 0, "burst");
  Burst burst = AsyncBurst(stack, campaigns, 4000, 8);
  std::map<int, long> codes;
  long other_refusals = 0;
  std::string other_refusal;
  for (const auto& r : burst.records) {
    codes[static_cast<int>(r.last_code)]++;
    if (r.last_code == grpc::StatusCode::RESOURCE_EXHAUSTED &&
        r.last_message.find("Applies waiting to be written") == std::string::npos) {
      ++other_refusals;
      other_refusal = r.last_message;
    }
  }
  EXPECT_EQ(other_refusals, 0) << "refused by something other than the queue bound: "
                               << other_refusal;
  for (const auto& [code, n] : codes) std::cout << "burst code " << code << ": " << n << "\n";
  EXPECT_GE(Count(codes, grpc::StatusCode::RESOURCE_EXHAUSTED), 1) << "the queue bound never hit";
  EXPECT_EQ(Count(codes, grpc::StatusCode::OK) + Count(codes, grpc::StatusCode::RESOURCE_EXHAUSTED),
            static_cast<long>(burst.records.size()))
      << "an Apply ended otherwise (a timeout?)";
  std::sort(burst.refused_ms.begin(), burst.refused_ms.end());
  if (!burst.refused_ms.empty()) {
    const double p99 = burst.refused_ms[burst.refused_ms.size() * 99 / 100];
    std::cout << "RESOURCE_EXHAUSTED p99 " << p99 << " ms\n";
    EXPECT_LE(p99, 2000) << "refusals were not fast";
  }
  ExecSql(stack.database_url(), "DROP TRIGGER test_slow_insert ON applications");
  run.records.insert(run.records.end(), burst.records.begin(), burst.records.end());
  ExpectEveryPromiseKept(stack, run);
  stack.StopWorkers();
  stack.StopServer();
}

// On a cluster of its own: campaignq's sessions terminated ten times a
// second; then every connection PostgreSQL has left held idle as well, so
// that the terminated ones cannot come back; then all released; then
// PostgreSQL stopped (-m immediate) and started. The service answers
// UNAVAILABLE (or UNKNOWN for a commit cut off) while it cannot, never
// times out or fails otherwise, loses nothing acknowledged, and serves
// every Apply again by itself.
TEST(Pressure, ConnectionChaosIsSurvived) {
  OwnPostgres postgres;
  ExecSql(postgres.url(), "CREATE DATABASE campaignq");
  Stack stack("chaos", UrlWithDatabase(postgres.url(), "campaignq"));
  stack.StartServer();
  InstallDecisionAudit(stack);
  for (int i = 0; i < 2; ++i) stack.StartWorker({"skip-locked", 2, 50});
  verify::SessionTerminator terminator(stack.database_url(), milliseconds(100));
  verify::IdleConnections idle(stack.database_url(), 300);
  std::vector<verify::PressurePhase> phases{
      Phase("clean", seconds(5), 100),    Phase("terminate", seconds(10), 100),
      Phase("idle", seconds(10), 100),    Phase("recover", seconds(10), 100),
      Phase("restart", seconds(10), 100), Phase("after", seconds(10), 100)};
  phases[1].on_start = [&] { terminator.Start(); };
  phases[2].on_start = [&] { idle.Hold(); };
  phases[3].on_start = [&] {
    terminator.Stop();
    idle.Release();
  };
  phases[4].on_start = [&] {
    postgres.StopImmediately();
    postgres.Start();
  };
  const verify::PressureResult run = verify::RunPressure(LoadOn(stack, 2, 20, 30), phases);
  std::cout << "terminated " << terminator.terminated() << " sessions\n";
  EXPECT_GE(terminator.terminated(), 20);
  const auto codes = CodesOf(run, "");
  for (const auto& [code, n] : codes) std::cout << "code " << code << ": " << n << "\n";
  long other = 0;
  for (const auto& [code, n] : codes) {
    const auto c = static_cast<grpc::StatusCode>(code);
    if (c != grpc::StatusCode::OK && c != grpc::StatusCode::UNAVAILABLE &&
        c != grpc::StatusCode::UNKNOWN && c != grpc::StatusCode::FAILED_PRECONDITION)
      other += n;
  }
  EXPECT_EQ(other, 0) << "codes other than OK, UNAVAILABLE, UNKNOWN, FAILED_PRECONDITION";
  // Recovered by itself: the last window's Applies all served.
  ASSERT_FALSE(run.windows.empty());
  const auto& last = run.windows.back();
  EXPECT_EQ(Count(last.codes, grpc::StatusCode::OK) +
                Count(last.codes, grpc::StatusCode::FAILED_PRECONDITION),
            last.sent)
      << "not recovered 10 s after the restart";
  EXPECT_TRUE(PollUntil([&] { return stack.Serving(); }, Deadline(seconds(30))));
  ExpectEveryPromiseKept(stack, run);
  stack.StopWorkers();
  stack.StopServer();
}

}  // namespace
}  // namespace campaignq::testing
