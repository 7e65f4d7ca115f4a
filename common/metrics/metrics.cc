#include "common/metrics/metrics.h"

#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"

namespace campaignq::metrics {
namespace {

std::string Escape(const std::string& value) {
  return absl::StrReplaceAll(value, {{"\\", "\\\\"}, {"\"", "\\\""}, {"\n", "\\n"}});
}

// {a="x",b="y"} plus an optional extra label (le for buckets).
std::string Labels(const std::vector<std::string>& names, const LabelValues& values,
                   const std::string& extra = "") {
  std::string text;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    absl::StrAppend(&text, text.empty() ? "" : ",", names[i], "=\"", Escape(values[i]), "\"");
  }
  if (!extra.empty()) absl::StrAppend(&text, text.empty() ? "" : ",", extra);
  return text.empty() ? "" : absl::StrCat("{", text, "}");
}

std::string Number(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Text that reads back as the same double (StrCat's six significant
  // digits would round a start time or a byte count), short where it can be
  // (bucket bounds stay le="0.1").
  for (const int digits : {15, 17}) {
    std::string text = absl::StrFormat("%.*g", digits, value);
    double parsed = 0;
    if (digits == 17 || (absl::SimpleAtod(text, &parsed) && parsed == value)) return text;
  }
  return "";
}

void Header(std::string* out, const std::string& name, const std::string& help, const char* type) {
  absl::StrAppend(out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
}

}  // namespace

Histogram::Histogram(const std::vector<double>* bounds)
    : bounds_(bounds), bucket_counts_(new std::atomic<int64_t>[bounds->size()]) {
  for (size_t i = 0; i < bounds_->size(); ++i) bucket_counts_[i] = 0;
}

void Histogram::Observe(double value) {
  for (size_t i = 0; i < bounds_->size(); ++i) {
    if (value <= (*bounds_)[i]) {
      bucket_counts_[i].fetch_add(1, std::memory_order_relaxed);
      break;
    }
  }
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micro_.fetch_add(static_cast<int64_t>(std::llround(value * 1e6)), std::memory_order_relaxed);
}

template <typename Metric>
Metric& Family<Metric>::With(const LabelValues& values) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& child = children_[values];
  if (child == nullptr) child = make_();
  return *child;
}

template class Family<Counter>;
template class Family<Histogram>;

Family<Counter>& Registry::AddCounter(const std::string& name, const std::string& help,
                                      std::vector<std::string> label_names) {
  std::lock_guard<std::mutex> lock(mutex_);
  counters_.emplace_back(new Family<Counter>(name, help, std::move(label_names),
                                             [] { return std::make_unique<Counter>(); }));
  return *counters_.back();
}

Family<Histogram>& Registry::AddHistogram(const std::string& name, const std::string& help,
                                          std::vector<double> bounds,
                                          std::vector<std::string> label_names) {
  std::lock_guard<std::mutex> lock(mutex_);
  bounds_.push_back(std::make_unique<std::vector<double>>(std::move(bounds)));
  const std::vector<double>* kept = bounds_.back().get();
  histograms_.emplace_back(new Family<Histogram>(
      name, help, std::move(label_names), [kept] { return std::make_unique<Histogram>(kept); }));
  return *histograms_.back();
}

void Registry::AddGauge(const std::string& name, const std::string& help,
                        std::function<bool(double*)> read) {
  AddCallback(name, help, "gauge", {}, [read = std::move(read)] {
    std::vector<Sample> samples(1);
    if (!read(&samples[0].value)) samples.clear();
    return samples;
  });
}

void Registry::AddCallback(const std::string& name, const std::string& help, const char* type,
                           std::vector<std::string> label_names,
                           std::function<std::vector<Sample>()> read) {
  std::lock_guard<std::mutex> lock(mutex_);
  callbacks_.push_back({name, help, type, std::move(label_names), std::move(read)});
}

std::string Registry::Render() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  for (auto& family : counters_) {
    Header(&out, family->name_, family->help_, "counter");
    std::lock_guard<std::mutex> children_lock(family->mutex_);
    for (auto& [values, counter] : family->children_) {
      absl::StrAppend(&out, family->name_, Labels(family->label_names_, values), " ",
                      counter->value(), "\n");
    }
  }
  for (auto& family : histograms_) {
    Header(&out, family->name_, family->help_, "histogram");
    std::lock_guard<std::mutex> children_lock(family->mutex_);
    for (auto& [values, histogram] : family->children_) {
      int64_t cumulative = 0;
      for (size_t i = 0; i < histogram->bounds_->size(); ++i) {
        cumulative += histogram->bucket_counts_[i].load(std::memory_order_relaxed);
        absl::StrAppend(&out, family->name_, "_bucket",
                        Labels(family->label_names_, values,
                               absl::StrCat("le=\"", Number((*histogram->bounds_)[i]), "\"")),
                        " ", cumulative, "\n");
      }
      const int64_t count = histogram->count_.load(std::memory_order_relaxed);
      absl::StrAppend(&out, family->name_, "_bucket",
                      Labels(family->label_names_, values, "le=\"+Inf\""), " ", count, "\n");
      absl::StrAppend(&out, family->name_, "_sum", Labels(family->label_names_, values), " ",
                      Number(histogram->sum_micro_.load(std::memory_order_relaxed) / 1e6), "\n");
      absl::StrAppend(&out, family->name_, "_count", Labels(family->label_names_, values), " ",
                      count, "\n");
    }
  }
  for (auto& callback : callbacks_) {
    const std::vector<Sample> samples = callback.read();
    if (samples.empty()) continue;
    Header(&out, callback.name, callback.help, callback.type);
    for (const Sample& sample : samples) {
      absl::StrAppend(&out, callback.name, Labels(callback.label_names, sample.labels), " ",
                      Number(sample.value), "\n");
    }
  }
  return out;
}

std::vector<double> LatencyBuckets() {
  return {0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::vector<double> WaitBuckets() {
  return {0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
          1,     2.5,   5,     10,   30,    60,   120, 300,  600};
}

std::vector<double> SizeBuckets() { return {1, 2, 5, 10, 25, 50, 100, 250, 500, 1000}; }

}  // namespace campaignq::metrics
