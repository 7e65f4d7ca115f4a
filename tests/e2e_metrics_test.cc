// e2e tier: the Prometheus endpoints of server and worker, scraped over
// HTTP before and after a storm, move with the work actually done.

#include <httplib.h>

#include <chrono>
#include <map>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "support/poll.h"
#include "support/promtool.h"
#include "support/stack.h"
#include "support/storm.h"

namespace campaignq::testing {
namespace {

using std::chrono::seconds;

// "host:port" from a "<binary> metrics on host:port" stdout line.
std::string MetricsAddress(Process* process, const std::string& prefix) {
  auto line = process->WaitForLine(prefix, Deadline(seconds(30)));
  EXPECT_TRUE(line.ok()) << line.status();
  return line.ok() ? std::string(absl::StripPrefix(*line, prefix)) : "";
}

// The exposition text of http://address/metrics.
std::string ScrapeText(const std::string& address) {
  const size_t colon = address.rfind(':');
  httplib::Client client(address.substr(0, colon), std::stoi(address.substr(colon + 1)));
  auto response = client.Get("/metrics");
  EXPECT_TRUE(response && response->status == 200) << "GET http://" << address << "/metrics";
  return response ? response->body : "";
}

// Every sample of a scrape, by its full name with labels.
std::map<std::string, double> Scrape(const std::string& address) {
  std::map<std::string, double> samples;
  for (absl::string_view line : absl::StrSplit(ScrapeText(address), '\n')) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    double value = 0;
    if (space != absl::string_view::npos && absl::SimpleAtod(line.substr(space + 1), &value)) {
      samples[std::string(line.substr(0, space))] = value;
    }
  }
  return samples;
}

TEST(Metrics, CountersMoveWithAStorm) {
  Stack stack("metrics");
  stack.StartServer({"--metrics-listen=127.0.0.1:0"});
  const std::string server_metrics = MetricsAddress(stack.server(), "campaignq-server metrics on ");
  const int worker = stack.StartWorker({"skip-locked", 4, 25, {"--metrics-listen=127.0.0.1:0"}});
  const std::string worker_metrics =
      MetricsAddress(stack.worker(worker), "campaignq-worker metrics on ");

  auto stub = stack.NewStub();
  grpc::ClientContext context;
  v1::CreateCampaignRequest create;
  create.set_name("metrics");
  create.set_max_participants(50);
  v1::Campaign campaign;
  ASSERT_TRUE(stub->CreateCampaign(&context, create, &campaign).ok());
  auto records = Applicants({campaign.id()}, 300);
  RunApplyStorm(stack, records, 16, Deadline(seconds(60)));
  ASSERT_TRUE(WaitUntilDecided(stack, records, Deadline(seconds(120))));

  auto server = Scrape(server_metrics);
  EXPECT_EQ(server["campaignq_applications_enqueued_total"], 300);
  const std::string apply =
      "grpc_service=\"campaignq.v1.CampaignQueue\",grpc_method=\"Apply\",grpc_type=\"unary\"";
  EXPECT_EQ(server["grpc_server_started_total{" + apply + "}"], 300);
  EXPECT_EQ(server["grpc_server_handled_total{" + apply + ",grpc_code=\"OK\"}"], 300);
  EXPECT_EQ(server["grpc_server_handling_seconds_count{" + apply + "}"], 300);
  EXPECT_EQ(server["grpc_server_handled_total{grpc_service=\"campaignq.v1.CampaignQueue\","
                   "grpc_method=\"CreateCampaign\",grpc_type=\"unary\",grpc_code=\"OK\"}"],
            1);
  EXPECT_EQ(server["campaignq_queue_pending"], 0);

  // The worker counts after its commit, so its numbers may trail the
  // database by a moment: wait for them rather than for time.
  std::map<std::string, double> decided;
  EXPECT_TRUE(PollUntil(
      [&] {
        decided = Scrape(worker_metrics);
        return decided["campaignq_decisions_total{outcome=\"approved\"}"] +
                   decided["campaignq_decisions_total{outcome=\"waitlisted\"}"] ==
               300;
      },
      Deadline(seconds(30))));
  EXPECT_EQ(decided["campaignq_decisions_total{outcome=\"approved\"}"], 50);
  EXPECT_EQ(decided["campaignq_decisions_total{outcome=\"waitlisted\"}"], 250);
  EXPECT_EQ(decided["campaignq_enqueue_to_decision_seconds_count"], 300);
  EXPECT_GE(decided["campaignq_batches_total"], 300.0 / 25);
  EXPECT_EQ(decided["campaignq_claim_batch_size_sum"], 300);
  // Both endpoints are what Prometheus's own linter accepts, after a storm
  // (every family has children then).
  for (const std::string& address : {server_metrics, worker_metrics}) {
    const absl::Status lint = PromtoolCheckMetrics(ScrapeText(address));
    EXPECT_TRUE(lint.ok()) << address << ": " << lint;
  }
  EXPECT_EQ(server["campaignq_build_info{component=\"server\",version=\"" CAMPAIGNQ_VERSION "\"}"],
            1);
  EXPECT_GT(server["process_resident_memory_bytes"], 0);
  EXPECT_EQ(server["campaignq_health_serving"], 1);
  EXPECT_GT(server["campaignq_queue_stats_timestamp_seconds"], 0);
  EXPECT_GT(decided["process_resident_memory_bytes"], 0);
  // The worker's probes (deploy/k8s/worker.yaml): alive and ready.
  for (const char* path : {"/livez", "/readyz"}) {
    const size_t colon = worker_metrics.rfind(':');
    httplib::Client client(worker_metrics.substr(0, colon),
                           std::stoi(worker_metrics.substr(colon + 1)));
    auto probe = client.Get(path);
    ASSERT_TRUE(probe) << path;
    EXPECT_EQ(probe->status, 200) << path << ": " << probe->body;
    EXPECT_EQ(probe->body, "ok\n") << path;
  }
  stack.StopWorkers();
  stack.StopServer();
}

}  // namespace
}  // namespace campaignq::testing
