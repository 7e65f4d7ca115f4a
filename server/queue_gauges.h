#pragma once
// The queue gauges the leading server exports: campaignq_queue_pending,
// campaignq_queue_oldest_pending_age_seconds, and
// campaignq_queue_stats_timestamp_seconds (when they were last read).
//
// One query per scrape serves both gauges, bounded by kReadTimeout: it
// counts every pending row and waits behind locks on the table, and a
// scrape that hangs is no better than one without the gauges (the last
// values stay). During a database outage they
// keep their last value instead of vanishing (a vanished series breaks
// dashboards and silences alerts exactly when they matter); the timestamp
// then stops moving, which is what "stale" alerts look at.

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/metrics/metrics.h"
#include "common/store/campaign_store.h"

namespace campaignq::server {

class QueueGauges {
 public:
  using ReadDepth =
      std::function<absl::StatusOr<store::CampaignStore::QueueDepth>(absl::Time deadline)>;
  // Under Prometheus's default scrape timeout (10 s).
  static constexpr absl::Duration kReadTimeout = absl::Seconds(5);
  // Registers the gauges in `registry`; `read` is one depth query, given
  // up at `deadline`; the
  // gauges are exported only while `exporting` says so (the maintenance
  // leader: one server reports the one shared queue, so sum() is right).
  // All must outlive every scrape.
  QueueGauges(metrics::Registry* registry, ReadDepth read, std::function<bool()> exporting);

 private:
  // The depth of this scrape: read at most once per `kFresh`, the last good
  // value when the read fails, nothing before the first success.
  std::optional<store::CampaignStore::QueueDepth> Current(double* read_at_seconds);

  const ReadDepth read_;
  const std::function<bool()> exporting_;
  std::mutex mutex_;
  std::chrono::steady_clock::time_point last_attempt_ ABSL_GUARDED_BY(mutex_);
  std::optional<store::CampaignStore::QueueDepth> last_ ABSL_GUARDED_BY(mutex_);
  double last_success_unix_seconds_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace campaignq::server
