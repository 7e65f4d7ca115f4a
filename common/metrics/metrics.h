#pragma once
// A small Prometheus registry: counters and histograms with labels, and
// gauges read at scrape time, rendered in the text exposition format.
// Recording is lock-free (atomics) once a label set has been seen.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace campaignq::metrics {

// Label values in the order of the family's label names.
using LabelValues = std::vector<std::string>;

class Counter {
 public:
  void Increment(int64_t by = 1) { value_.fetch_add(by, std::memory_order_relaxed); }
  int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

class Histogram {
 public:
  explicit Histogram(const std::vector<double>* bounds);
  void Observe(double value);

 private:
  friend class Registry;
  const std::vector<double>* bounds_;                      // upper bounds, ascending
  std::unique_ptr<std::atomic<int64_t>[]> bucket_counts_;  // per bound, not cumulative
  std::atomic<int64_t> count_{0};
  std::atomic<int64_t> sum_micro_{0};  // sum in millionths, for lock-free adds
};

// One metric name with its label names; children per label value set.
template <typename Metric>
class Family {
 public:
  // The child for these label values, created on first use. The reference
  // stays valid for the registry's lifetime.
  Metric& With(const LabelValues& values);

 private:
  friend class Registry;
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::function<std::unique_ptr<Metric>()> make)
      : name_(std::move(name)),
        help_(std::move(help)),
        label_names_(std::move(label_names)),
        make_(std::move(make)) {}
  const std::string name_, help_;
  const std::vector<std::string> label_names_;
  const std::function<std::unique_ptr<Metric>()> make_;
  std::mutex mutex_;
  std::map<LabelValues, std::unique_ptr<Metric>> children_;
};

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  Family<Counter>& AddCounter(const std::string& name, const std::string& help,
                              std::vector<std::string> label_names = {});
  // `bounds`: bucket upper bounds, ascending (+Inf is implied).
  Family<Histogram>& AddHistogram(const std::string& name, const std::string& help,
                                  std::vector<double> bounds,
                                  std::vector<std::string> label_names = {});
  // A gauge whose value `read` returns at scrape time (e.g. queue depth).
  // `read` may fail by returning false; the gauge is then left out.
  void AddGauge(const std::string& name, const std::string& help,
                std::function<bool(double*)> read);
  // A gauge or counter ("gauge"/"counter") whose labelled samples `read`
  // returns at scrape time: process CPU seconds, build info, per-label
  // values kept by another component.
  struct Sample {
    LabelValues labels;
    double value = 0;
  };
  void AddCallback(const std::string& name, const std::string& help, const char* type,
                   std::vector<std::string> label_names, std::function<std::vector<Sample>()> read);

  // The Prometheus text exposition format (version 0.0.4).
  std::string Render();

 private:
  struct Callback {
    std::string name, help;
    const char* type;
    std::vector<std::string> label_names;
    std::function<std::vector<Sample>()> read;
  };
  std::mutex mutex_;
  std::vector<std::unique_ptr<Family<Counter>>> counters_;
  std::vector<std::unique_ptr<Family<Histogram>>> histograms_;
  std::vector<std::unique_ptr<std::vector<double>>> bounds_;
  std::vector<Callback> callbacks_;
};

// Bucket bounds for latencies, in seconds: 0.5 ms to 10 s.
std::vector<double> LatencyBuckets();
// Bucket bounds for waits that can reach minutes (enqueue to decision
// while a backlog drains): 1 ms to 10 min.
std::vector<double> WaitBuckets();
// Bucket bounds for batch sizes: 1 to 1000.
std::vector<double> SizeBuckets();

}  // namespace campaignq::metrics
