#pragma once
// What a worker process counts and measures, for logs and for Prometheus.

#include "common/metrics/metrics.h"
#include "common/queue/claim.h"

namespace campaignq::worker {

class WorkerMetrics {
 public:
  // Registers the worker's metrics in `registry` (which must outlive this).
  explicit WorkerMetrics(metrics::Registry* registry);

  // One committed batch: decisions by outcome, batch size, each
  // application's wait from Apply to decision, transaction duration.
  void RecordBatch(const queue::BatchResult& result);
  // A transient error that will be retried, by SQLSTATE ("connection" when
  // the connection was lost without one).
  void RecordRetry(const std::string& sqlstate);
  void RecordFailed() { failed_.Increment(); }
  // One committed expiry batch: holds expired, how late each was, and the
  // seats passed on to the next in line.
  void RecordExpiries(const queue::BatchResult& result);

  int64_t decided(const char* outcome) { return decisions_.With({outcome}).value(); }
  int64_t batches() const { return batches_.value(); }
  int64_t retries() const { return retries_total_.value(); }
  int64_t failed() const { return failed_.value(); }
  int64_t expired() const { return expired_.value(); }

 private:
  metrics::Family<metrics::Counter>& decisions_;
  metrics::Family<metrics::Counter>& retries_;
  metrics::Counter& retries_total_;
  metrics::Counter& batches_;
  metrics::Counter& failed_;
  metrics::Histogram& batch_size_;
  metrics::Histogram& wait_;
  metrics::Histogram& transaction_;
  metrics::Counter& expired_;
  metrics::Counter& passed_on_;
  metrics::Histogram& expiry_lateness_;
};

}  // namespace campaignq::worker
