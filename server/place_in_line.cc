#include "server/place_in_line.h"

#include <cmath>

#include "common/store/rows.h"

namespace campaignq::server {

std::optional<absl::Duration> WaitEstimator::Observe(int64_t campaign_id, Line line,
                                                     int64_t counter, absl::Time at,
                                                     int64_t ahead) {
  absl::MutexLock lock(&mu_);
  const Key key{campaign_id, static_cast<int>(line)};
  auto found = index_.find(key);
  if (found == index_.end()) {
    recent_.push_front(Entry{key, {}});
    index_[key] = recent_.begin();
    if (recent_.size() > options_.max_campaigns) {
      index_.erase(recent_.back().key);
      recent_.pop_back();
    }
  } else {
    recent_.splice(recent_.begin(), recent_, found->second);
  }
  std::vector<Sample>& samples = recent_.front().samples;

  // Reads on several threads can record out of order: an older one adds
  // nothing the newer did not measure.
  if (!samples.empty() && at < samples.back().at) return std::nullopt;
  if (!samples.empty() && counter < samples.back().counter) samples.clear();
  const absl::Duration spacing = options_.window / static_cast<int64_t>(kMaxSamples);
  if (samples.size() >= 2 && at - samples[samples.size() - 2].at < spacing) {
    samples.back() = Sample{at, counter};
  } else {
    samples.push_back(Sample{at, counter});
    if (samples.size() > kMaxSamples) samples.erase(samples.begin());
  }
  while (samples.size() > 1 && at - samples.front().at > options_.window) {
    samples.erase(samples.begin());
  }

  const Sample& oldest = samples.front();
  const absl::Duration span = at - oldest.at;
  const int64_t progress = counter - oldest.counter;
  if (span < options_.min_span || progress <= 0) return std::nullopt;
  const double seconds =
      static_cast<double>(ahead + 1) * absl::ToDoubleSeconds(span) / static_cast<double>(progress);
  return absl::Seconds(std::ceil(seconds));
}

size_t WaitEstimator::size() const {
  absl::MutexLock lock(&mu_);
  return recent_.size();
}

void SetPlaceInLine(const store::ApplicationInLine& read, WaitEstimator* estimator,
                    v1::Application* out) {
  out->clear_position();
  out->clear_position_is_estimate();
  out->clear_estimated_wait();
  if (!read.place.has_value()) return;
  out->set_position(read.place->ahead);
  out->set_position_is_estimate(read.place->estimate);
  const bool pending = read.application.status() == v1::APPLICATION_STATUS_PENDING;
  const std::optional<absl::Duration> wait = estimator->Observe(
      read.application.campaign_id(), pending ? Line::kPending : Line::kWaitlisted,
      pending ? read.decided : read.freed, read.sampled, read.place->ahead);
  if (wait.has_value()) {
    store::SetMicros(absl::ToInt64Microseconds(*wait), out->mutable_estimated_wait());
  }
}

}  // namespace campaignq::server
