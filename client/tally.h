#pragma once
// Counts a storm's outcome per campaign and checks its invariants. Pure: the
// inputs are what storm fetched, so tests can feed hand-made ones.

#include <cstdint>
#include <optional>
#include <vector>

#include "campaignq/v1/campaignq.pb.h"
#include "client/applicant_record.h"

namespace campaignq::client {

struct CampaignTally {
  int64_t campaign_id = 0;
  std::optional<int32_t> cap;  // unset: unlimited
  bool waitlist = true;
  bool closed = false;
  int32_t approved_count = 0;  // the campaign row's counter
  int64_t rows = 0;            // applications stored for the campaign
  int64_t acknowledged = 0;    // storm applicants the server confirmed
  int64_t approved = 0;
  int64_t waitlisted = 0;
  int64_t rejected_full = 0;
  int64_t rejected_other = 0;  // e.g. campaign_closed
  int64_t pending = 0;
  int64_t cancelled = 0;
  int64_t failed = 0;
  // approved - cap when positive.
  int64_t overflow = 0;
  // approved_count differs from the approved rows.
  bool count_mismatch = false;
  // Invariant (b) applies only once all is decided, nothing was cancelled
  // and the campaign was not closed; `fill_ok` is meaningful when checked.
  bool fill_checked = false;
  bool fill_ok = true;
};

// One count per invariant; all zero means the storm passed.
struct InvariantCounts {
  int64_t over_cap = 0;        // (a) campaigns with approved > cap
  int64_t fill_wrong = 0;      // (b) campaigns not filled as min(cap, applied)
  int64_t fill_skipped = 0;    //     campaigns where (b) did not apply
  int64_t count_mismatch = 0;  // (c) campaigns with approved_count != rows
  int64_t ack_missing = 0;     // (d) acknowledged applies with no row
  int64_t ack_duplicated = 0;  //     (campaign, user) pairs stored twice
  int64_t ack_pending = 0;     //     acknowledged applies still pending
  int64_t fcfs = 0;            // (e) approved applicants that jumped the line

  bool AllHold() const {
    return over_cap == 0 && fill_wrong == 0 && count_mismatch == 0 && ack_missing == 0 &&
           ack_duplicated == 0 && ack_pending == 0 && fcfs == 0;
  }
};

struct StormReport {
  std::vector<CampaignTally> campaigns;
  CampaignTally totals;  // sums; cap is the sum of caps when all are capped
  InvariantCounts invariants;
  int64_t applicants = 0;
  int64_t acknowledged = 0;
  int64_t apply_failures = 0;  // applicants whose Apply was never confirmed
  int64_t decided = 0;         // rows neither pending nor failed
  bool decide_timed_out = false;
  double elapsed_seconds = 0;  // the whole storm, creation to report
  double apply_seconds = 0;    // first send to last reply
  double decide_seconds = 0;   // server time: first create_time to last decide_time
  double applies_per_second = 0;
  double decisions_per_second = 0;
};

// Copies each application's id, status and reason into the record with the
// same (campaign, user). Records with no application keep status
// UNSPECIFIED.
void AttachOutcomes(const std::vector<v1::Application>& applications,
                    std::vector<ApplicantRecord>* records);

// Returns the tallies (in `campaigns` order), totals and invariant counts.
// `records` should already carry outcomes (AttachOutcomes). Timing fields
// are left for the caller; applies/decisions per second are derived from
// the seconds fields by FinishRates.
StormReport EvaluateStorm(const std::vector<v1::Campaign>& campaigns,
                          const std::vector<v1::Application>& applications,
                          const std::vector<ApplicantRecord>& records);

// Returns the seconds from the earliest create_time to the latest
// decide_time among decided applications (0 when there are none).
double DecisionSpanSeconds(const std::vector<v1::Application>& applications);

// Fills applies_per_second and decisions_per_second from the counts and the
// seconds fields (0 when a span is 0).
void FinishRates(StormReport* report);

}  // namespace campaignq::client
