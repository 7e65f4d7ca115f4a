#include "worker/worker_metrics.h"

namespace campaignq::worker {

WorkerMetrics::WorkerMetrics(metrics::Registry* registry)
    : decisions_(registry->AddCounter("campaignq_decisions_total",
                                      "applications decided, by outcome", {"outcome"})),
      retries_(registry->AddCounter("campaignq_retries_total",
                                    "transient errors retried (never counted against an "
                                    "application), by SQLSTATE",
                                    {"sqlstate"})),
      retries_total_(
          registry
              ->AddCounter("campaignq_retries_all_total", "transient errors retried, all SQLSTATEs")
              .With({})),
      batches_(registry->AddCounter("campaignq_batches_total", "committed claim batches").With({})),
      failed_(registry
                  ->AddCounter("campaignq_failed_total",
                               "applications marked failed after deterministic errors")
                  .With({})),
      batch_size_(registry
                      ->AddHistogram("campaignq_claim_batch_size",
                                     "applications decided per committed batch",
                                     metrics::SizeBuckets())
                      .With({})),
      wait_(registry
                ->AddHistogram("campaignq_enqueue_to_decision_seconds",
                               "from an application's Apply to its decision",
                               metrics::WaitBuckets())
                .With({})),
      transaction_(registry
                       ->AddHistogram("campaignq_transaction_duration_seconds",
                                      "claim-and-decide transaction, BEGIN to COMMIT",
                                      metrics::LatencyBuckets())
                       .With({})),
      expired_(registry->AddCounter("campaignq_holds_expired_total", "holds expired by workers")
                   .With({})),
      passed_on_(registry
                     ->AddCounter("campaignq_hold_seats_passed_on_total",
                                  "seats of expired holds offered to the next in line")
                     .With({})),
      expiry_lateness_(registry
                           ->AddHistogram("campaignq_hold_expiry_lateness_seconds",
                                          "from a hold's hold_expires_at to its expiry",
                                          metrics::LatencyBuckets())
                           .With({})) {}

void WorkerMetrics::RecordBatch(const queue::BatchResult& result) {
  batches_.Increment();
  batch_size_.Observe(static_cast<double>(result.decisions.size()));
  transaction_.Observe(result.transaction_seconds);
  for (const queue::Decision& decision : result.decisions) {
    decisions_.With({decision.status}).Increment();
    wait_.Observe(static_cast<double>(decision.waited_micros) / 1e6);
  }
}

void WorkerMetrics::RecordExpiries(const queue::BatchResult& result) {
  transaction_.Observe(result.transaction_seconds);
  for (const queue::Expiry& expiry : result.expired) {
    expired_.Increment();
    expiry_lateness_.Observe(static_cast<double>(expiry.late_micros) / 1e6);
  }
  passed_on_.Increment(static_cast<int64_t>(result.seats_passed_on.size()));
}

void WorkerMetrics::RecordRetry(const std::string& sqlstate) {
  retries_.With({sqlstate.empty() ? "connection" : sqlstate}).Increment();
  retries_total_.Increment();
}

}  // namespace campaignq::worker
