#include "client/fcfs.h"

#include <algorithm>
#include <limits>

namespace campaignq::client {
namespace {

bool IsLoser(const ApplicantRecord& r) {
  if (!r.acknowledged) return false;
  return r.status == v1::APPLICATION_STATUS_WAITLISTED ||
         (r.status == v1::APPLICATION_STATUS_REJECTED && r.reason == kReasonCampaignFull);
}

}  // namespace

int64_t CountFcfsViolations(const std::vector<ApplicantRecord>& records) {
  // Group by campaign with one sort of indices; within a campaign only the
  // earliest loser reply matters: B violates iff it is later than B's send.
  std::vector<size_t> order(records.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return records[a].campaign_id < records[b].campaign_id; });

  int64_t violations = 0;
  size_t begin = 0;
  while (begin < order.size()) {
    size_t end = begin;
    const int64_t campaign = records[order[begin]].campaign_id;
    int64_t earliest_loser_reply = std::numeric_limits<int64_t>::max();
    while (end < order.size() && records[order[end]].campaign_id == campaign) {
      const ApplicantRecord& r = records[order[end]];
      if (IsLoser(r)) earliest_loser_reply = std::min(earliest_loser_reply, r.reply_ns);
      ++end;
    }
    for (size_t i = begin; i < end; ++i) {
      const ApplicantRecord& r = records[order[i]];
      if (r.status == v1::APPLICATION_STATUS_APPROVED && earliest_loser_reply < r.send_ns) {
        ++violations;
      }
    }
    begin = end;
  }
  return violations;
}

}  // namespace campaignq::client
