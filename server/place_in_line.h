#pragma once
// Application.position and estimated_wait (docs/api.md "Place in line").
//
// The wait comes from the campaign's recent progress, measured by this
// server from the counters each ApplicationGetInLine read returns, so that
// the workers' statements do no extra work for it:
//   pending     decided = approved + rejected + cancelled + failed counts:
//               each pending application decided or cancelled moves the
//               pending line on by one
//   waitlisted  freed = the cancelled, released and expired counts: each
//               frees a seat (or leaves the waitlist), which moves the
//               waitlist on by one
// The rate is the counter's growth over the samples of the last minute,
// and the wait is (position + 1) / rate, rounded up to a whole second so
// that a watch does not send a new message for every jitter of it.
// Unknown (unset) until two samples at least a second apart show progress
// within the last minute: a line that has not moved in a minute has no
// estimate, rather than an infinite one. A counter that went down (a failed
// application retried) starts the measurement again.
//
// Memory is bounded: the least recently read campaigns are forgotten beyond
// `max_campaigns` (WaitEstimator::Options).

#include <cstdint>
#include <list>
#include <optional>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "campaignq/v1/campaignq.pb.h"
#include "common/store/place_in_line.h"

namespace campaignq::server {

enum class Line { kPending, kWaitlisted };

class WaitEstimator {
 public:
  struct Options {
    size_t max_campaigns = 4096;
    // Progress older than this is not "recent".
    absl::Duration window = absl::Seconds(60);
    // Two samples closer than this measure no rate.
    absl::Duration min_span = absl::Seconds(1);
  };
  WaitEstimator() : WaitEstimator(Options()) {}
  explicit WaitEstimator(Options options) : options_(options) {}

  // Records that `line` of campaign `campaign_id` had progress counter
  // `counter` at `at`, and returns the wait of an application with `ahead`
  // before it, if the recent rate is known. Thread-safe.
  std::optional<absl::Duration> Observe(int64_t campaign_id, Line line, int64_t counter,
                                        absl::Time at, int64_t ahead);

  size_t size() const;

 private:
  struct Sample {
    absl::Time at;
    int64_t counter = 0;
  };
  using Key = std::pair<int64_t, int>;
  struct Entry {
    Key key;
    // Oldest first, at most kMaxSamples, spaced window / kMaxSamples apart
    // but for the newest.
    std::vector<Sample> samples;
  };
  static constexpr size_t kMaxSamples = 8;

  const Options options_;
  mutable absl::Mutex mu_;
  std::list<Entry> recent_ ABSL_GUARDED_BY(mu_);  // most recently read first
  absl::flat_hash_map<Key, std::list<Entry>::iterator> index_ ABSL_GUARDED_BY(mu_);
};

// Sets `out`'s position, position_is_estimate and estimated_wait from
// `read` (clears them when it has no place), recording the campaign's
// progress in `estimator`.
void SetPlaceInLine(const store::ApplicationInLine& read, WaitEstimator* estimator,
                    v1::Application* out);

}  // namespace campaignq::server
