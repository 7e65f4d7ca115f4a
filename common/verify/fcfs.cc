#include "common/verify/fcfs.h"

#include <algorithm>
#include <limits>
#include <map>

namespace campaignq::verify {
namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::min();

// One campaign's losers that a client can prove were in line, and its
// seats given back.
struct Campaign {
  SteadyTime earliest_waitlisted_reply = SteadyTime::max();
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
  // A waitlisted A acknowledged before B was sent: never excused.
  if (c.earliest_waitlisted_reply < b.first_send) return true;
  // Rejected-full As acknowledged before B was sent: B is excused over A
  // when a seat came back after A's decision and before B's approval. So the
  // A that matters is the one decided last; it is excused iff the latest
  // release before B's approval came after it.
  auto end = std::lower_bound(c.rejected.begin(), c.rejected.end(), b.first_send,
                              [](const auto& a, SteadyTime t) { return a.first < t; });
  if (end == c.rejected.begin()) return false;
  const int64_t latest_a = c.latest_decided[(end - c.rejected.begin()) - 1];
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
        if (a.acknowledged)
          c.earliest_waitlisted_reply = std::min(c.earliest_waitlisted_reply, a.reply);
        break;
      case Standing::kRejectedFull:
        if (a.acknowledged) c.rejected.emplace_back(a.reply, a.decided_at_micros);
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
    for (const FcfsApplicant* b : c.approved) violations += Violates(c, *b) ? 1 : 0;
  }
  return violations;
}

}  // namespace campaignq::verify
