// unit tier: the registry's exposition text is what Prometheus accepts
// (promtool check metrics), and the process metrics describe this process.

#include "common/metrics/metrics.h"

#include <unistd.h>

#include <map>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/metrics/process_metrics.h"
#include "gtest/gtest.h"
#include "support/promtool.h"

namespace campaignq::metrics {
namespace {

// Sample name with labels -> value, from an exposition text.
std::map<std::string, double> Samples(const std::string& text) {
  std::map<std::string, double> samples;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    double value = 0;
    if (space != absl::string_view::npos && absl::SimpleAtod(line.substr(space + 1), &value)) {
      samples[std::string(line.substr(0, space))] = value;
    }
  }
  return samples;
}

TEST(Registry, RendersEveryKindAsPromtoolAccepts) {
  Registry registry;
  registry.AddCounter("demo_events_total", "events", {"kind"}).With({"a\"b"}).Increment(3);
  registry.AddHistogram("demo_wait_seconds", "waits", WaitBuckets(), {"queue"})
      .With({"q"})
      .Observe(0.003);
  registry.AddGauge("demo_depth", "depth", [](double* value) {
    *value = 7;
    return true;
  });
  registry.AddGauge("demo_big", "a value beyond six significant digits", [](double* value) {
    *value = 1795715616.5;
    return true;
  });
  registry.AddGauge("demo_unreadable", "left out when it cannot be read",
                    [](double*) { return false; });
  registry.AddCallback("demo_labelled", "labelled samples", "gauge", {"shard"}, [] {
    return std::vector<Registry::Sample>{{{"1"}, 2}, {{"2"}, 3}};
  });
  AddProcessMetrics(&registry);
  AddBuildInfo(&registry, "test", "1.2.3");

  const std::string text = registry.Render();
  EXPECT_TRUE(testing::PromtoolCheckMetrics(text).ok())
      << testing::PromtoolCheckMetrics(text) << "\n"
      << text;
  auto samples = Samples(text);
  EXPECT_EQ(samples["demo_events_total{kind=\"a\\\"b\"}"], 3);
  EXPECT_EQ(samples["demo_wait_seconds_bucket{queue=\"q\",le=\"0.002\"}"], 0);
  EXPECT_EQ(samples["demo_wait_seconds_bucket{queue=\"q\",le=\"0.005\"}"], 1);
  EXPECT_EQ(samples["demo_wait_seconds_bucket{queue=\"q\",le=\"600\"}"], 1);
  EXPECT_EQ(samples["demo_depth"], 7);
  EXPECT_NE(text.find("\ndemo_big 1795715616.5\n"), std::string::npos) << text;
  EXPECT_NE(text.find("le=\"0.1\""), std::string::npos);
  EXPECT_EQ(samples.count("demo_unreadable"), 0u);
  EXPECT_EQ(text.find("demo_unreadable"), std::string::npos);
  EXPECT_EQ(samples["demo_labelled{shard=\"2\"}"], 3);
  EXPECT_EQ(samples["campaignq_build_info{component=\"test\",version=\"1.2.3\"}"], 1);
}

TEST(ProcessMetrics, DescribeThisProcess) {
  Registry registry;
  AddProcessMetrics(&registry);
  auto samples = Samples(registry.Render());
  EXPECT_GT(samples["process_resident_memory_bytes"], 1 << 20);
  EXPECT_GE(samples["process_virtual_memory_bytes"], samples["process_resident_memory_bytes"]);
  EXPECT_GE(samples["process_open_fds"], 3);  // stdin, stdout, stderr at least
  EXPECT_GT(samples["process_max_fds"], samples["process_open_fds"]);
  EXPECT_GE(samples["process_cpu_seconds_total"], 0);
  // Started within the last day. Boot time plus ticks since boot drifts
  // from the wall clock by as much as the clock was adjusted since boot
  // (every Prometheus client computes it so), hence the minute of slack.
  const double now = static_cast<double>(time(nullptr));
  EXPECT_LE(samples["process_start_time_seconds"], now + 60);
  EXPECT_GT(samples["process_start_time_seconds"], now - 86400);
}

}  // namespace
}  // namespace campaignq::metrics
