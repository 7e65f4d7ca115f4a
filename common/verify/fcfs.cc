#include "common/verify/fcfs.h"

#include <algorithm>
#include <limits>
#include <map>

namespace campaignq::verify {
namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::min();

using Place = std::pair<int64_t, int64_t>;  // (queue_key, id)

// One campaign's losers that a client can prove were in line, and its
// seats given back. Arrivals and the pre-queue apart: each has its own
// "ahead of" (fcfs.h).
struct Campaign {
  SteadyTime earliest_waitlisted_reply = SteadyTime::max();
  // Pre-queued losers: the first waitlisted place; the rejected-full ones
  // as (place, decided_at) sorted by place, then the running maximum of
  // decided_at over that order.
  Place first_waitlisted_place{std::numeric_limits<int64_t>::max(),
                               std::numeric_limits<int64_t>::max()};
  std::vector<std::pair<Place, int64_t>> rejected_prequeued;
  std::vector<int64_t> latest_decided_prequeued;
  // Rejected as full: (reply, decided_at), sorted by reply; then the running
  // maximum of decided_at over that order.
  std::vector<std::pair<SteadyTime, int64_t>> rejected;
  std::vector<int64_t> latest_decided;
  std::vector<int64_t> releases;  // sorted
  std::vector<const FcfsApplicant*> approved;
};

// The latest seat given back strictly before `micros`, or kNever.
int64_t LatestReleaseBefore(const std::vector<int64_t>& releases, int64_t micros) {
  auto it = std::lower_bound(releases.begin(), releases.end(), micros);
  return it == releases.begin() ? kNever : *std::prev(it);
}

bool Violates(const Campaign& c, const FcfsApplicant& b) {
  const Place b_place{b.queue_key, b.application_id};
  // Pre-queued As ahead of B: all of them when B is an arrival, those
  // before it in place when B is pre-queued.
  const bool all_prequeue = !b.prequeued();
  // A waitlisted A ahead of B: never excused.
  if (all_prequeue ? c.first_waitlisted_place.first < 0 : c.first_waitlisted_place < b_place) {
    return true;
  }
  if (all_prequeue && c.earliest_waitlisted_reply < b.first_send) return true;
  // Rejected-full As ahead of B: B is excused over A when a seat came back
  // after A's decision and before B's approval. So the A that matters is
  // the one decided last; it is excused iff the latest release before B's
  // approval came after it.
  int64_t latest_a = kNever;
  auto pre_end =
      all_prequeue
          ? c.rejected_prequeued.end()
          : std::lower_bound(c.rejected_prequeued.begin(), c.rejected_prequeued.end(), b_place,
                             [](const auto& a, const Place& p) { return a.first < p; });
  if (pre_end != c.rejected_prequeued.begin()) {
    latest_a = c.latest_decided_prequeued[(pre_end - c.rejected_prequeued.begin()) - 1];
  }
  if (all_prequeue) {
    auto end = std::lower_bound(c.rejected.begin(), c.rejected.end(), b.first_send,
                                [](const auto& a, SteadyTime t) { return a.first < t; });
    if (end != c.rejected.begin()) {
      latest_a = std::max(latest_a, c.latest_decided[(end - c.rejected.begin()) - 1]);
    }
  }
  if (latest_a == kNever) return false;
  const int64_t release = LatestReleaseBefore(c.releases, b.decided_at_micros);
  return release == kNever || release <= latest_a;
}

}  // namespace

int64_t CountFcfsViolations(const std::vector<FcfsApplicant>& applicants,
                            const std::vector<SeatRelease>& releases) {
  std::map<int64_t, Campaign> campaigns;
  for (const FcfsApplicant& a : applicants) {
    Campaign& c = campaigns[a.campaign_id];
    switch (a.standing) {
      case Standing::kApproved:
        c.approved.push_back(&a);  // acknowledged or not: B may be anyone
        break;
      case Standing::kWaitlisted:
        if (!a.acknowledged) break;
        if (a.prequeued()) {
          c.first_waitlisted_place =
              std::min(c.first_waitlisted_place, Place{a.queue_key, a.application_id});
        } else {
          c.earliest_waitlisted_reply = std::min(c.earliest_waitlisted_reply, a.reply);
        }
        break;
      case Standing::kRejectedFull:
        if (!a.acknowledged) break;
        if (a.prequeued()) {
          c.rejected_prequeued.emplace_back(Place{a.queue_key, a.application_id},
                                            a.decided_at_micros);
        } else {
          c.rejected.emplace_back(a.reply, a.decided_at_micros);
        }
        break;
      case Standing::kOther:
        break;
    }
  }
  for (const SeatRelease& r : releases) {
    auto it = campaigns.find(r.campaign_id);
    if (it != campaigns.end()) it->second.releases.push_back(r.at_micros);
  }

  int64_t violations = 0;
  for (auto& [id, c] : campaigns) {
    std::sort(c.releases.begin(), c.releases.end());
    std::sort(c.rejected.begin(), c.rejected.end());
    int64_t running = kNever;
    for (const auto& [reply, decided] : c.rejected) {
      running = std::max(running, decided);
      c.latest_decided.push_back(running);
    }
    std::sort(c.rejected_prequeued.begin(), c.rejected_prequeued.end());
    running = kNever;
    for (const auto& [place, decided] : c.rejected_prequeued) {
      running = std::max(running, decided);
      c.latest_decided_prequeued.push_back(running);
    }
    for (const FcfsApplicant* b : c.approved) violations += Violates(c, *b) ? 1 : 0;
  }
  return violations;
}

}  // namespace campaignq::verify
