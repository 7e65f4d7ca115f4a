#pragma once
// The invariant checks after a storm, straight from PostgreSQL. Each
// invariant is one named query in sql/checks/invariants.sql, run with its
// parameters (never spliced into the text), all in one REPEATABLE READ
// READ ONLY transaction so that they judge one snapshot.
//
//   (a) over_cap        no campaign offers (approves or holds) more than its cap
//   (b) count_mismatch  approved_, held_, rejected_, cancelled_, failed_,
//                       released_ and expired_count equal their rows
//   (c) duplicated      no (campaign, user) stored twice
//   (d) ack_missing     every acknowledged Apply is stored (under the id
//       ack_wrong_id    its reply named) and decided (ack_pending)
//   (e) still_pending   nothing pending (when decisions are expected)
//   (f) decided_not_once each application left 'pending' exactly once; needs
//                       the decision audit (InstallDecisionAudit)
//   (g) fill_wrong      seats are filled: min(cap, competing) offered when
//                       no seat was given back; with seats given back, a
//                       free seat means an empty waitlist (CheckFill says
//                       exactly)
//   (h) attempts_wrong  attempts are charged only to applications that
//                       failed: attempts > 0 has a last_error, failed has
//                       attempts, and only expected users are charged
//   (i) fcfs            first come, first served as fcfs.h defines it
//   (j) illegal_transitions every status change the audit saw is one the
//                       service makes (CheckTransitions); needs the audit
//   (k) seats, commit by commit (seats.h; needs the audit): over_cap_at_commit,
//       seat_not_passed_on (a seat given back while someone waited went to
//       nobody in that transaction), seat_freed_twice; and sampled while
//       the storm ran (sampler.h, with or without the audit): sampled_over_cap
//   (l) holds end on time: late_expiry (by the audit, an expiry more than
//       hold_lateness after the hold's expiry) and sampled_overdue (a hold
//       seen still held that long after it)

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/verify/apply.h"
#include "common/verify/sampler.h"

namespace campaignq::verify {

// Installs the decision audit (sql/checks/audit.sql) in the database at
// `database_url`: a table and a trigger recording every status change.
// Idempotent. INTERNAL on a database error.
absl::Status InstallDecisionAudit(const std::string& database_url);

// Polls (every 50 ms) until no application of `campaign_ids` is pending
// (nor, with holds_too, held), calling on_poll(count) after each count.
// Returns true when none is, false at the deadline; INTERNAL when the
// database could not be read at the deadline (a lost connection is retried
// on a new one until then).
absl::StatusOr<bool> WaitUntilNothingPending(
    const std::string& database_url, const std::vector<int64_t>& campaign_ids, SteadyTime deadline,
    const std::function<void(int64_t pending)>& on_poll = {}, bool holds_too = false);

// Records for applications that were stored rather than applied (a seeded
// benchmark, all pending before any worker starts): one per application of
// `campaign_ids`, acknowledged, with its id, and client times that put them
// in id order, each acknowledged before the next was sent (for stored rows
// id order is arrival order). INTERNAL when the database cannot be read.
absl::StatusOr<std::vector<ApplyRecord>> RecordsInIdOrder(const std::string& database_url,
                                                          const std::vector<int64_t>& campaign_ids);

// The storm's campaigns: every distinct campaign_id of `records`, sorted.
std::vector<int64_t> CampaignsOf(const std::vector<ApplyRecord>& records);

struct VerifyOptions {
  // The campaigns to judge; empty: CampaignsOf(records), or every campaign
  // in the database with all_campaigns (a storm another process ran).
  std::vector<int64_t> campaign_ids;
  bool all_campaigns = false;
  // Nothing may be pending (e, and d's pending part). False for a storm
  // that runs no workers (the benchmark's Apply throughput).
  bool expect_decided = true;
  // Without the audit installed: true makes that a violation (tests), false
  // skips (f) and dates seat releases by the cancelled rows' updated_at
  // (lenient: every cancellation may have given a seat back).
  bool require_audit = true;
  // Users whose applications may be charged attempts (a poison row a test
  // planted); anyone else charged is a violation of (h).
  std::set<std::string> may_be_charged;
  // Every hold has ended (e): a storm with holds waits for it.
  bool expect_holds_ended = false;
  // (l): no hold may expire, or be seen held, more than this after its
  // expiry; zero: not checked (docs/holds.md's promise is 1 s).
  std::chrono::milliseconds hold_lateness{0};
  // (k), (l): what an OfferSampler saw during the storm; null: not sampled.
  const OfferSamples* samples = nullptr;
};

// One campaign's outcome.
struct CampaignTally {
  int64_t campaign_id = 0;
  std::optional<int32_t> cap;  // unset: unlimited
  bool waitlist = true;
  bool closed = false;
  int64_t approved_count = 0;  // the campaign row's counter
  int64_t rows = 0;            // applications stored
  int64_t acknowledged = 0;    // the storm's acknowledged Applies
  int64_t approved = 0;
  int64_t waitlisted = 0;
  int64_t rejected_full = 0;
  int64_t rejected_other = 0;  // campaign_closed
  int64_t pending = 0;
  int64_t cancelled = 0;
  int64_t failed = 0;
  int64_t held = 0;
  int64_t released = 0;
  int64_t expired = 0;
  int64_t overflow = 0;         // approved - cap when positive (a)
  bool count_mismatch = false;  // (b)
  bool fill_checked = false;    // (g) applied to this campaign
  bool fill_ok = true;
};

// One count per invariant; all zero means every invariant holds.
struct InvariantCounts {
  int64_t over_cap = 0;          // (a) campaigns
  int64_t count_mismatch = 0;    // (b) campaigns
  int64_t duplicated = 0;        // (c) (campaign, user) pairs
  int64_t ack_missing = 0;       // (d) acknowledged Applies with no row
  int64_t ack_wrong_id = 0;      //     ... stored under another id
  int64_t ack_pending = 0;       //     ... still pending
  int64_t still_pending = 0;     // (e) applications
  int64_t decided_not_once = 0;  // (f) applications (audit_missing: no audit)
  bool audit_checked = false;
  bool audit_missing = false;       //     required but not installed
  int64_t fill_wrong = 0;           // (g) campaigns
  int64_t fill_skipped = 0;         //     campaigns where (g) did not apply
  int64_t attempts_wrong = 0;       // (h) applications
  int64_t fcfs = 0;                 // (i) offered applications that jumped the line
  int64_t illegal_transitions = 0;  // (j) audited status changes
  int64_t still_held = 0;           // (e) holds not ended (expect_holds_ended)
  int64_t over_cap_at_commit = 0;   // (k) commits after which a campaign was over its cap
  int64_t seat_not_passed_on = 0;   //     commits that gave a seat back to nobody
  int64_t seat_freed_twice = 0;     //     applications that gave a seat back twice
  int64_t seats_replayed = 0;       //     campaigns replayed commit by commit
  int64_t seats_skipped = 0;        //     capped campaigns the audit did not see whole
  int64_t sampled_over_cap = 0;     //     samples in which a campaign was over its cap
  int64_t samples = 0;              //     samples taken (0: not sampled)
  int64_t late_expiry = 0;          // (l) holds expired late, by the audit
  int64_t sampled_overdue = 0;      //     samples in which a hold was held late
  int64_t latest_expiry_ms = 0;     //     the latest expiry after its hold's end seen

  bool AllHold() const;
};

struct Verdict {
  std::vector<CampaignTally> campaigns;  // in campaign id order
  CampaignTally totals;                  // sums; cap is the sum of caps when all are capped
  InvariantCounts invariants;
  // Human-readable, at most a few per invariant; empty when all hold.
  std::vector<std::string> violations;
  int64_t applicants = 0;     // records
  int64_t acknowledged = 0;   // acknowledged records
  int64_t decided = 0;        // rows neither pending nor failed
  int64_t seat_releases = 0;  // approved applications cancelled
  double decide_seconds = 0;  // first Apply stored to last decision (database clock)

  bool AllHold() const { return invariants.AllHold(); }
  // The tally of `campaign_id`; a zero tally when it was not judged.
  const CampaignTally& Campaign(int64_t campaign_id) const;
};

// Judges the storm: runs every check on the database at `database_url`.
// INTERNAL when the database cannot be read (not a broken invariant).
absl::StatusOr<Verdict> Verify(const std::string& database_url,
                               const std::vector<ApplyRecord>& records,
                               const VerifyOptions& options = {});

}  // namespace campaignq::verify
