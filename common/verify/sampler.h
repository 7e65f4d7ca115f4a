#pragma once
// What must hold at every instant, sampled while a storm runs (the checks
// after it see only the end; the audit's replay, seats.h, sees every
// commit but needs the audit installed, which `campaignq storm` never
// does). Each sample is one statement, one snapshot:
//
//   over the cap  a campaign whose counters (approved_count + held_count)
//                 or rows (approved or held) exceed max_participants
//   overdue       a hold still held more than `hold_lateness` after its
//                 hold_expires_at (docs/holds.md: workers end a hold within
//                 1 s of its expiry while they run)

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace campaignq::verify {

struct OfferSamples {
  int64_t samples = 0;               // samples taken
  int64_t failed_samples = 0;        // samples the database did not answer
  int64_t over_cap = 0;              // samples in which some campaign was over its cap
  int64_t overdue = 0;               // samples in which some hold was overdue
  int64_t most_offered = 0;          // the largest approved + held of one campaign seen
  int64_t most_overdue_ms = 0;       // the largest lateness of a hold still held seen
  std::vector<std::string> details;  // the first few violations, readable
};

// Samples `campaign_ids` on the database at `database_url` every
// `interval` from construction until Stop(). Holds are overdue past
// `hold_lateness`; zero: never counted overdue (a storm without holds).
class OfferSampler {
 public:
  OfferSampler(std::string database_url, std::vector<int64_t> campaign_ids,
               std::chrono::milliseconds hold_lateness,
               std::chrono::milliseconds interval = std::chrono::milliseconds(50));
  ~OfferSampler();
  OfferSampler(const OfferSampler&) = delete;
  OfferSampler& operator=(const OfferSampler&) = delete;

  // Takes one last sample, stops and returns them all. Call once.
  OfferSamples Stop();

 private:
  void Run();

  const std::string database_url_;
  const std::vector<int64_t> campaign_ids_;
  const std::chrono::milliseconds hold_lateness_;
  const std::chrono::milliseconds interval_;
  std::mutex mutex_;
  std::condition_variable stopped_;
  bool stop_ = false;     // under mutex_
  OfferSamples samples_;  // the sampling thread's until Stop() joins it
  std::thread thread_;
};

}  // namespace campaignq::verify
