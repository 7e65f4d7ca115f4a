#include "client/tally.h"

#include <algorithm>
#include <limits>
#include <map>
#include <string>
#include <utility>

#include "client/fcfs.h"
#include "google/protobuf/util/time_util.h"

namespace campaignq::client {
namespace {

using Key = std::pair<int64_t, std::string>;

void Count(const v1::Application& app, CampaignTally* t) {
  ++t->rows;
  switch (app.status()) {
    case v1::APPLICATION_STATUS_APPROVED:
      ++t->approved;
      break;
    case v1::APPLICATION_STATUS_WAITLISTED:
      ++t->waitlisted;
      break;
    case v1::APPLICATION_STATUS_REJECTED:
      if (app.reason() == kReasonCampaignFull) {
        ++t->rejected_full;
      } else {
        ++t->rejected_other;
      }
      break;
    case v1::APPLICATION_STATUS_PENDING:
      ++t->pending;
      break;
    case v1::APPLICATION_STATUS_CANCELLED:
      ++t->cancelled;
      break;
    case v1::APPLICATION_STATUS_FAILED:
      ++t->failed;
      break;
    default:
      break;
  }
}

// Invariant (b): with everything decided, the first min(cap, applied)
// applicants are approved and the rest waitlisted (or rejected as full
// without a waitlist). Applied counts every stored storm application that
// competes for a seat (FAILED ones do not), acknowledged or not, since an
// unconfirmed attempt that landed takes a place in line all the same.
void CheckFill(CampaignTally* t) {
  t->fill_checked = t->pending == 0 && t->cancelled == 0 && !t->closed && t->rejected_other == 0;
  if (!t->fill_checked) return;
  const int64_t applied = t->rows - t->failed;
  const int64_t expected = t->cap ? std::min<int64_t>(*t->cap, applied) : applied;
  const int64_t rest = applied - expected;
  t->fill_ok =
      t->approved == expected && (t->waitlist ? (t->waitlisted == rest && t->rejected_full == 0)
                                              : (t->rejected_full == rest && t->waitlisted == 0));
}

void AddInto(const CampaignTally& t, CampaignTally* sum) {
  sum->approved_count += t.approved_count;
  sum->rows += t.rows;
  sum->acknowledged += t.acknowledged;
  sum->approved += t.approved;
  sum->waitlisted += t.waitlisted;
  sum->rejected_full += t.rejected_full;
  sum->rejected_other += t.rejected_other;
  sum->pending += t.pending;
  sum->cancelled += t.cancelled;
  sum->failed += t.failed;
  sum->overflow += t.overflow;
  sum->count_mismatch = sum->count_mismatch || t.count_mismatch;
}

}  // namespace

void AttachOutcomes(const std::vector<v1::Application>& applications,
                    std::vector<ApplicantRecord>* records) {
  std::map<Key, const v1::Application*> by_user;
  for (const v1::Application& app : applications) {
    by_user.emplace(Key{app.campaign_id(), app.user_id()}, &app);
  }
  for (ApplicantRecord& r : *records) {
    auto it = by_user.find(Key{r.campaign_id, r.user_id});
    if (it == by_user.end()) continue;
    r.application_id = it->second->id();
    r.status = it->second->status();
    r.reason = it->second->reason();
  }
}

StormReport EvaluateStorm(const std::vector<v1::Campaign>& campaigns,
                          const std::vector<v1::Application>& applications,
                          const std::vector<ApplicantRecord>& records) {
  StormReport report;
  std::map<int64_t, size_t> index;
  for (const v1::Campaign& c : campaigns) {
    CampaignTally t;
    t.campaign_id = c.id();
    if (c.has_max_participants()) t.cap = c.max_participants();
    t.waitlist = c.waitlist();
    t.closed = c.status() == v1::CAMPAIGN_STATUS_CLOSED;
    t.approved_count = c.approved_count();
    index[c.id()] = report.campaigns.size();
    report.campaigns.push_back(t);
  }

  std::map<Key, int64_t> copies;
  for (const v1::Application& app : applications) {
    auto it = index.find(app.campaign_id());
    if (it == index.end()) continue;  // not a storm campaign
    Count(app, &report.campaigns[it->second]);
    ++copies[Key{app.campaign_id(), app.user_id()}];
    if (app.status() != v1::APPLICATION_STATUS_PENDING &&
        app.status() != v1::APPLICATION_STATUS_FAILED) {
      ++report.decided;
    }
  }

  // (d): every confirmed Apply is stored exactly once and decided.
  InvariantCounts& inv = report.invariants;
  for (const ApplicantRecord& r : records) {
    ++report.applicants;
    if (!r.acknowledged) {
      ++report.apply_failures;
      continue;
    }
    ++report.acknowledged;
    auto it = index.find(r.campaign_id);
    if (it != index.end()) ++report.campaigns[it->second].acknowledged;
    auto copy = copies.find(Key{r.campaign_id, r.user_id});
    if (copy == copies.end()) {
      ++inv.ack_missing;
    } else if (r.status == v1::APPLICATION_STATUS_PENDING) {
      ++inv.ack_pending;
    }
  }
  for (const auto& [key, n] : copies) {
    if (n > 1) ++inv.ack_duplicated;
  }

  bool all_capped = !report.campaigns.empty();
  int64_t cap_sum = 0;
  for (CampaignTally& t : report.campaigns) {
    if (t.cap) {
      t.overflow = std::max<int64_t>(0, t.approved - *t.cap);
      cap_sum += *t.cap;
    } else {
      all_capped = false;
    }
    t.count_mismatch = t.approved_count != t.approved;
    CheckFill(&t);
    if (t.overflow > 0) ++inv.over_cap;
    if (t.count_mismatch) ++inv.count_mismatch;
    if (!t.fill_checked) {
      ++inv.fill_skipped;
    } else if (!t.fill_ok) {
      ++inv.fill_wrong;
    }
    AddInto(t, &report.totals);
  }
  if (all_capped && cap_sum <= std::numeric_limits<int32_t>::max()) {
    report.totals.cap = static_cast<int32_t>(cap_sum);
  }
  report.totals.fill_checked = inv.fill_skipped == 0;
  report.totals.fill_ok = inv.fill_wrong == 0;

  inv.fcfs = CountFcfsViolations(records);
  return report;
}

double DecisionSpanSeconds(const std::vector<v1::Application>& applications) {
  using google::protobuf::util::TimeUtil;
  int64_t first_create = std::numeric_limits<int64_t>::max();
  int64_t last_decide = std::numeric_limits<int64_t>::min();
  for (const v1::Application& app : applications) {
    if (!app.has_decide_time() || !app.has_create_time()) continue;
    first_create = std::min(first_create, TimeUtil::TimestampToNanoseconds(app.create_time()));
    last_decide = std::max(last_decide, TimeUtil::TimestampToNanoseconds(app.decide_time()));
  }
  if (last_decide < first_create) return 0;
  return static_cast<double>(last_decide - first_create) / 1e9;
}

void FinishRates(StormReport* report) {
  report->applies_per_second =
      report->apply_seconds > 0 ? report->acknowledged / report->apply_seconds : 0;
  report->decisions_per_second =
      report->decide_seconds > 0 ? report->decided / report->decide_seconds : 0;
}

}  // namespace campaignq::client
