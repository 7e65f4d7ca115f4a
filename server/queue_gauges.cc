#include "server/queue_gauges.h"

#include <utility>

#include "absl/time/clock.h"

namespace campaignq::server {
namespace {

// Scrapes of both gauges (and of several Prometheus replicas) within this
// window share one query.
constexpr std::chrono::milliseconds kFresh(500);

}  // namespace

QueueGauges::QueueGauges(metrics::Registry* registry, ReadDepth read,
                         std::function<bool()> exporting)
    : read_(std::move(read)), exporting_(std::move(exporting)) {
  registry->AddGauge("campaignq_queue_pending",
                     "applications waiting for a decision (the one shared queue, reported by "
                     "the server that leads maintenance)",
                     [this](double* value) {
                       double at = 0;
                       auto depth = Current(&at);
                       if (depth) *value = static_cast<double>(depth->pending);
                       return depth.has_value();
                     });
  registry->AddGauge("campaignq_queue_oldest_pending_age_seconds",
                     "age of the oldest pending application", [this](double* value) {
                       double at = 0;
                       auto depth = Current(&at);
                       if (depth) *value = depth->oldest_pending_age_seconds;
                       return depth.has_value();
                     });
  registry->AddGauge("campaignq_queue_stats_timestamp_seconds",
                     "when the queue gauges were last read from the database (Unix time); "
                     "stops moving while the database is unreachable",
                     [this](double* value) {
                       auto depth = Current(value);
                       return depth.has_value();
                     });
}

std::optional<store::CampaignStore::QueueDepth> QueueGauges::Current(double* read_at_seconds) {
  if (!exporting_()) return std::nullopt;
  std::lock_guard<std::mutex> lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  if (!last_ || now - last_attempt_ >= kFresh) {
    last_attempt_ = now;
    if (auto depth = read_(absl::Now() + kReadTimeout); depth.ok()) {
      last_ = *depth;
      last_success_unix_seconds_ = absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch());
    }
  }
  *read_at_seconds = last_success_unix_seconds_;
  return last_;
}

}  // namespace campaignq::server
