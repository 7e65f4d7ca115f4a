#pragma once
// Where the claim's candidate scan starts (step 1 of common/queue/claim.h),
// and which campaigns of what it read are candidates. Decisions only, no
// I/O: ClaimProtocol runs the statements (QueueClaimCandidates,
// QueueClaimLowWaterMark) and feeds their rows here.
//
// Why a low-water mark. The candidates are the owners of the oldest pending
// applications, read from the partial index applications_pending_by_id.
// Every decision leaves a dead entry in that index, at its head (FCFS
// decides the oldest first), and while the xmin horizon is pinned (a
// transaction left open anywhere in the cluster) nothing removes them: a
// scan from the head steps over every decision since the pin, measured at
// 23,657 buffers and 30.7 ms per claim after 50 s (bench/RESULTS.md,
// "Pressure"). Starting at the lowest pending head instead, the scan reads
// only what is pending (plus the few entries decided out of order above it).
//
// What the mark can miss, and for how long. Between rebases the mark only
// moves up to the lowest head the last scan saw among campaigns that are
// not paused; an application that becomes pending below it afterwards (an
// Apply whose id was drawn before the scan but committed after it, a
// RetryApplication, the rows of a resumed campaign) is not in the window
// until the next rebase, at most Options::rebase_every later, which reads
// the exact lowest head (one index probe per campaign with pending rows).
// Meanwhile it is decided anyway whenever its campaign is claimed for a
// newer row, because deciding reads each campaign's own index from its
// head. Paused campaigns never hold the mark down, so that however many
// rows they queue, the window is the claimable campaigns' (issue 19,
// defect 9).

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

#include "absl/base/thread_annotations.h"

namespace campaignq::queue {

// One campaign among the pending applications one scan read.
struct WindowCampaign {
  int64_t campaign_id = 0;
  int64_t head_id = 0;  // its oldest pending application in the window
  int64_t last_id = 0;  // its newest pending application in the window
  int64_t rows = 0;     // its pending applications in the window
  bool paused = false;
  bool uncapped = false;  // uncapped and open: decided without its lock
};

struct WindowPick {
  std::vector<int64_t> capped;  // fairest (oldest head) first, at most `limit`
  // When the fairest candidate is uncapped: it and the uncapped candidates
  // after it, up to the first capped one.
  std::vector<int64_t> leading_uncapped;
  // No scan read any pending application (of any campaign, paused or
  // not) from the mark on.
  bool nothing_pending = true;
  bool empty() const { return capped.empty() && leading_uncapped.empty(); }
};

// The candidates of one window: not paused, not `excluded`, fairest first.
WindowPick PickCandidates(std::vector<WindowCampaign> window, const std::vector<int64_t>& excluded,
                          int limit);

// The low-water mark, shared by a worker's threads (so that a rebase runs
// once per process per period, not once per thread). Thread-safe.
class ClaimWindow {
 public:
  using Clock = std::chrono::steady_clock;
  struct Options {
    // How long a row that became pending below the mark may stay out of
    // the window. Each rebase costs one index probe per campaign with
    // pending rows (and, while the horizon is pinned, a step over the dead
    // entries in front of each).
    Clock::duration rebase_every = std::chrono::seconds(1);
    // Pending applications one scan reads: its campaigns are the window.
    int window_rows = 1024;
    // Scans one claim makes at most while every campaign read is paused or
    // excluded (the next starts after the last row read); then the claim
    // looks at every campaign (CampaignClaimSkipLockedAnywhere).
    int max_scans = 4;
  };

  ClaimWindow() : ClaimWindow(Options()) {}
  explicit ClaimWindow(Options options) : options_(options) {}

  const Options& options() const { return options_; }

  // Where the next scan starts; nullopt when the caller must read the
  // lowest head first and pass it to Rebased(). Only one caller at a time is
  // asked to rebase; the others scan from the current mark meanwhile.
  std::optional<int64_t> StartOrRebase(Clock::time_point now);
  // `lowest_head`: the oldest pending application of a campaign that is not
  // paused, read by the caller; nullopt when there is none.
  void Rebased(std::optional<int64_t> lowest_head, Clock::time_point now);
  // A scan starting at `from` read `window`. Moves the mark to the lowest
  // head in it of a campaign that is not paused (past the whole window when
  // all are paused; unchanged when it is empty), and returns where a
  // further scan in the same claim would start: after the last row read, or
  // nullopt when the window was not full (nothing pending after it).
  std::optional<int64_t> Scanned(int64_t from, const std::vector<WindowCampaign>& window);

  int64_t mark() const;

 private:
  const Options options_;
  mutable std::mutex mutex_;
  int64_t mark_ ABSL_GUARDED_BY(mutex_) = 0;
  bool rebased_once_ ABSL_GUARDED_BY(mutex_) = false;
  Clock::time_point rebased_at_ ABSL_GUARDED_BY(mutex_);
  // A caller asked to rebase whose transaction fails never calls Rebased():
  // after rebase_every another caller is asked.
  std::optional<Clock::time_point> rebase_asked_at_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace campaignq::queue
