#include "common/verify/checks.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "check_statements.h"
#include "common/db/transaction.h"
#include "common/verify/check_sql.h"
#include "common/verify/fcfs.h"
#include "common/verify/seats.h"

namespace campaignq::verify {
namespace {

using campaignq::sql::Statement;
// One snapshot for every check.
using Snapshot = pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>;

constexpr size_t kMaxDetailsPerCheck = 5;
constexpr auto kPollInterval = std::chrono::milliseconds(50);

template <typename... Args>
pqxx::result Run(pqxx::transaction_base& txn, Statement statement, Args&&... args) {
  return txn.exec_params(CheckSql(statement), std::forward<Args>(args)...);
}

// Collects at most kMaxDetailsPerCheck lines per check, then a summary.
class Findings {
 public:
  explicit Findings(std::vector<std::string>* out) : out_(out) {}
  void Add(const std::string& check, std::string text) {
    if (++counts_[check] <= kMaxDetailsPerCheck) out_->push_back(check + ": " + std::move(text));
  }
  void Finish() {
    for (const auto& [check, n] : counts_) {
      if (n > kMaxDetailsPerCheck) {
        out_->push_back(absl::StrCat(check, ": ... and ", n - kMaxDetailsPerCheck, " more"));
      }
    }
  }

 private:
  std::vector<std::string>* out_;
  std::map<std::string, size_t> counts_;
};

Standing StandingOf(const std::string& status, const std::string& reason) {
  // A hold is an offer of a seat (fcfs.h), whatever became of it.
  if (status == "approved" || status == "held" || status == "released" || status == "expired") {
    return Standing::kApproved;
  }
  if (status == "waitlisted") return Standing::kWaitlisted;
  if (status == "rejected" && reason == "campaign_full") return Standing::kRejectedFull;
  return Standing::kOther;
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
  sum->held += t.held;
  sum->released += t.released;
  sum->expired += t.expired;
  sum->overflow += t.overflow;
  sum->count_mismatch = sum->count_mismatch || t.count_mismatch;
}

// Tallies, (a), (b), (g): one row per campaign each.
void CheckCampaigns(Snapshot& txn, const std::string& ids, const std::vector<ApplyRecord>& records,
                    Verdict* v, Findings* findings) {
  std::map<int64_t, size_t> index;
  for (const auto& row : Run(txn, sql::kCheckCampaignTallies, ids)) {
    CampaignTally t;
    t.campaign_id = row[0].as<int64_t>();
    if (!row[1].is_null()) t.cap = row[1].as<int32_t>();
    t.waitlist = row[2].as<bool>();
    t.closed = row[3].as<bool>();
    t.approved_count = row[4].as<int64_t>();
    t.rows = row[5].as<int64_t>();
    t.approved = row[6].as<int64_t>();
    t.waitlisted = row[7].as<int64_t>();
    t.rejected_full = row[8].as<int64_t>();
    t.rejected_other = row[9].as<int64_t>();
    t.pending = row[10].as<int64_t>();
    t.cancelled = row[11].as<int64_t>();
    t.failed = row[12].as<int64_t>();
    t.held = row[13].as<int64_t>();
    t.released = row[14].as<int64_t>();
    t.expired = row[15].as<int64_t>();
    index[t.campaign_id] = v->campaigns.size();
    v->campaigns.push_back(t);
  }
  for (const ApplyRecord& r : records) {
    auto it = index.find(r.campaign_id);
    if (r.acknowledged && it != index.end()) ++v->campaigns[it->second].acknowledged;
  }
  InvariantCounts& inv = v->invariants;
  for (const auto& row : Run(txn, sql::kCheckOverCap, ids)) {
    const int64_t campaign = row[0].as<int64_t>(), cap = row[1].as<int64_t>();
    const int64_t approved = row[2].as<int64_t>();
    ++inv.over_cap;
    if (index.count(campaign)) v->campaigns[index[campaign]].overflow = approved - cap;
    findings->Add("(a) offered > cap",
                  absl::StrCat("campaign ", campaign, " approved or held ", approved, " of ", cap));
  }
  for (const auto& row : Run(txn, sql::kCheckCounters, ids)) {
    const int64_t campaign = row[0].as<int64_t>();
    ++inv.count_mismatch;
    if (index.count(campaign)) v->campaigns[index[campaign]].count_mismatch = true;
    findings->Add(
        "(b) a campaign counter != its rows",
        absl::StrCat("campaign ", campaign, ": approved_count ", row[1].as<int64_t>(), " rows ",
                     row[2].as<int64_t>(), ", rejected_count ", row[3].as<int64_t>(), " rows ",
                     row[4].as<int64_t>(), ", cancelled_count ", row[5].as<int64_t>(), " rows ",
                     row[6].as<int64_t>(), ", failed_count ", row[7].as<int64_t>(), " rows ",
                     row[8].as<int64_t>(), ", held_count ", row[9].as<int64_t>(), " rows ",
                     row[10].as<int64_t>(), ", released_count ", row[11].as<int64_t>(), " rows ",
                     row[12].as<int64_t>(), ", expired_count ", row[13].as<int64_t>(), " rows ",
                     row[14].as<int64_t>()));
  }
  std::set<int64_t> fill_checked;
  for (const auto& row : Run(txn, sql::kCheckFill, ids)) {
    const int64_t campaign = row[0].as<int64_t>();
    const bool ok = row[2].as<bool>();
    fill_checked.insert(campaign);
    if (index.count(campaign)) {
      v->campaigns[index[campaign]].fill_checked = true;
      v->campaigns[index[campaign]].fill_ok = ok;
    }
    if (!ok) {
      ++inv.fill_wrong;
      findings->Add("(g) seats not filled",
                    absl::StrCat("campaign ", campaign, " (rule: ", row[1].as<std::string>(), ")"));
    }
  }
  inv.fill_skipped = static_cast<int64_t>(v->campaigns.size() - fill_checked.size());

  bool all_capped = !v->campaigns.empty();
  int64_t cap_sum = 0;
  for (const CampaignTally& t : v->campaigns) {
    AddInto(t, &v->totals);
    if (t.cap) {
      cap_sum += *t.cap;
    } else {
      all_capped = false;
    }
    v->decided += t.rows - t.pending - t.failed;
  }
  if (all_capped && cap_sum <= std::numeric_limits<int32_t>::max()) {
    v->totals.cap = static_cast<int32_t>(cap_sum);
  }
  v->totals.fill_checked = inv.fill_skipped == 0;
  v->totals.fill_ok = inv.fill_wrong == 0;
}

// (c), (d), (e).
void CheckApplications(Snapshot& txn, const std::string& ids,
                       const std::vector<ApplyRecord>& records, const VerifyOptions& options,
                       Verdict* v, Findings* findings) {
  InvariantCounts& inv = v->invariants;
  for (const auto& row : Run(txn, sql::kCheckDuplicateUsers, ids)) {
    ++inv.duplicated;
    findings->Add("(c) stored twice",
                  absl::StrCat("campaign ", row[0].as<int64_t>(), " user '",
                               row[1].as<std::string>(), "' ", row[2].as<int64_t>(), " times"));
  }

  std::vector<int64_t> ack_campaigns, ack_ids;
  std::vector<std::string> ack_users;
  for (const ApplyRecord& r : records) {
    ++v->applicants;
    if (!r.acknowledged) continue;
    ++v->acknowledged;
    ack_campaigns.push_back(r.campaign_id);
    ack_users.push_back(r.user_id);
    ack_ids.push_back(r.application_id);
  }
  for (const auto& row : Run(txn, sql::kCheckAcknowledged, db::BigintArrayLiteral(ack_campaigns),
                             db::TextArrayLiteral(ack_users), db::BigintArrayLiteral(ack_ids))) {
    const std::string who =
        absl::StrCat("campaign ", row[0].as<int64_t>(), " user '", row[1].as<std::string>(), "'");
    if (row[3].is_null()) {
      ++inv.ack_missing;
      findings->Add("(d) acknowledged Apply lost", who);
      continue;
    }
    const int64_t replied = row[2].as<int64_t>(), stored = row[3].as<int64_t>();
    if (replied != 0 && replied != stored) {
      ++inv.ack_wrong_id;
      findings->Add("(d) acknowledged under another id",
                    absl::StrCat(who, " replied ", replied, ", stored ", stored));
    }
    if (row[4].as<std::string>() == "pending" && options.expect_decided) {
      ++inv.ack_pending;
      findings->Add("(d) acknowledged Apply still pending", who);
    }
  }

  if (!options.expect_decided) return;
  for (const auto& row : Run(txn, sql::kCheckStillPending, ids)) {
    ++inv.still_pending;
    findings->Add("(e) still pending", absl::StrCat("application ", row[0].as<int64_t>(),
                                                    " of campaign ", row[1].as<int64_t>()));
  }
  if (!options.expect_holds_ended) return;
  for (const auto& row : Run(txn, sql::kCheckStillHeld, ids)) {
    ++inv.still_held;
    findings->Add("(e) still held", absl::StrCat("application ", row[0].as<int64_t>(),
                                                 " of campaign ", row[1].as<int64_t>()));
  }
}

// (k) by the audit: the seats replayed commit by commit (seats.h). A
// campaign whose replay does not end where its rows are had changes before
// the audit was installed: it is skipped, not judged on half a history.
void CheckSeats(Snapshot& txn, const std::string& ids, Verdict* v, Findings* findings) {
  std::vector<SeatRules> rules;
  for (const auto& row : Run(txn, sql::kCheckSeatRules, ids)) {
    SeatRules& r = rules.emplace_back();
    r.campaign_id = row[0].as<int64_t>();
    r.cap = row[1].as<int64_t>();
    if (!row[2].is_null()) r.max_active_holds = row[2].as<int64_t>();
    r.passes_seats_on = row[3].as<bool>();
  }
  std::vector<StatusChange> changes;
  for (const auto& row : Run(txn, sql::kCheckSeatChanges, ids)) {
    changes.push_back({row[0].as<int64_t>(), row[1].as<int64_t>(), row[2].as<int64_t>(),
                       row[3].as<std::string>(), row[4].as<std::string>()});
  }
  const SeatReplay replay = ReplaySeats(changes, rules);
  std::set<int64_t> whole;
  InvariantCounts& inv = v->invariants;
  for (const SeatTotals& t : replay.totals) {
    const CampaignTally& tally = v->Campaign(t.campaign_id);
    if (t.offered == tally.approved + tally.held && t.waitlisted == tally.waitlisted) {
      whole.insert(t.campaign_id);
    } else {
      ++inv.seats_skipped;
    }
  }
  inv.seats_replayed = static_cast<int64_t>(whole.size());
  for (const SeatFinding& f : replay.findings) {
    if (whole.count(f.campaign_id) == 0) continue;
    const std::string where =
        absl::StrCat("campaign ", f.campaign_id, ", transaction ", f.transaction, ": ");
    switch (f.kind) {
      case SeatFinding::kOverCap:
        ++inv.over_cap_at_commit;
        findings->Add("(k) offered > cap at a commit",
                      absl::StrCat(where, f.offered, " seats approved or held, over the cap"));
        break;
      case SeatFinding::kNotPassedOn:
        ++inv.seat_not_passed_on;
        findings->Add("(k) a seat given back went to nobody",
                      absl::StrCat(where, "gave a seat back and left it free while ", f.waitlisted,
                                   " waited"));
        break;
      case SeatFinding::kFreedTwice:
        ++inv.seat_freed_twice;
        findings->Add("(k) a seat given back twice",
                      absl::StrCat(where, "application ", f.application_id,
                                   " gave its seat back a second time"));
        break;
    }
  }
}

// (l) by the audit.
void CheckHoldLateness(Snapshot& txn, const std::string& ids, const VerifyOptions& options,
                       Verdict* v, Findings* findings) {
  for (const auto& row : Run(txn, sql::kCheckHoldLateness, ids,
                             static_cast<int64_t>(options.hold_lateness.count()))) {
    ++v->invariants.late_expiry;
    v->invariants.latest_expiry_ms = std::max(v->invariants.latest_expiry_ms, row[2].as<int64_t>());
    findings->Add(
        "(l) a hold expired late",
        absl::StrCat("application ", row[0].as<int64_t>(), " of campaign ", row[1].as<int64_t>(),
                     " expired ", row[2].as<int64_t>(), " ms after its hold ended (bound ",
                     options.hold_lateness.count(), " ms)"));
  }
}

// (k) and (l) as sampled during the storm.
void AddSamples(const OfferSamples& samples, Verdict* v, Findings* findings) {
  InvariantCounts& inv = v->invariants;
  inv.samples = samples.samples;
  inv.sampled_over_cap = samples.over_cap;
  inv.sampled_overdue = samples.overdue;
  inv.latest_expiry_ms = std::max(inv.latest_expiry_ms, samples.most_overdue_ms);
  if (samples.over_cap == 0 && samples.overdue == 0) return;
  for (const std::string& detail : samples.details) {
    findings->Add("(k, l) sampled during the storm", detail);
  }
}

// (f) and the seats given back (for (i)).
std::vector<SeatRelease> CheckAudit(Snapshot& txn, const std::string& ids,
                                    const VerifyOptions& options, Verdict* v, Findings* findings) {
  InvariantCounts& inv = v->invariants;
  const bool installed = Run(txn, sql::kCheckAuditInstalled)[0][0].as<bool>();
  if (installed) {
    inv.audit_checked = true;
    for (const auto& row : Run(txn, sql::kCheckDecidedOnce, ids)) {
      ++inv.decided_not_once;
      findings->Add(
          "(f) not decided exactly once",
          absl::StrCat("application ", row[0].as<int64_t>(), " (", row[1].as<std::string>(),
                       ") left pending ", row[2].as<int64_t>(), " times"));
    }
    for (const auto& row : Run(txn, sql::kCheckTransitions, ids)) {
      ++inv.illegal_transitions;
      findings->Add("(j) illegal status change",
                    absl::StrCat("application ", row[0].as<int64_t>(), ": ",
                                 row[1].as<std::string>(), " -> ", row[2].as<std::string>()));
    }
    CheckSeats(txn, ids, v, findings);
    if (options.hold_lateness.count() > 0) CheckHoldLateness(txn, ids, options, v, findings);
  } else if (options.require_audit) {
    inv.audit_missing = true;
    findings->Add("(f) not checked", "the decision audit is not installed (InstallDecisionAudit)");
  }
  std::vector<SeatRelease> releases;
  for (const auto& row :
       Run(txn, installed ? sql::kCheckSeatReleasesAudited : sql::kCheckSeatReleasesUnaudited,
           ids)) {
    releases.push_back({row[0].as<int64_t>(), row[1].as<int64_t>()});
  }
  if (installed) v->seat_releases = static_cast<int64_t>(releases.size());
  return releases;
}

// (h).
void CheckAttempts(Snapshot& txn, const std::string& ids, const VerifyOptions& options, Verdict* v,
                   Findings* findings) {
  for (const auto& row : Run(txn, sql::kCheckAttempts, ids)) {
    const int64_t id = row[0].as<int64_t>();
    const std::string user = row[1].as<std::string>(), status = row[2].as<std::string>();
    const int attempts = row[3].as<int>();
    const bool has_error = row[4].as<bool>();
    std::string wrong;
    if (attempts > 0 && !has_error) wrong = "charged without a last_error";
    if (status == "failed" && attempts == 0) wrong = "failed without an attempt charged";
    if (attempts > 0 && options.may_be_charged.count(user) == 0) {
      wrong = "charged although it was not expected to fail";
    }
    if (wrong.empty()) continue;
    ++v->invariants.attempts_wrong;
    findings->Add("(h) attempts", absl::StrCat("application ", id, " user '", user, "' (", status,
                                               ", ", attempts, " attempts): ", wrong));
  }
}

// (i).
void CheckFcfs(Snapshot& txn, const std::string& ids, const std::vector<ApplyRecord>& records,
               const std::vector<SeatRelease>& releases, Verdict* v, Findings* findings) {
  struct Outcome {
    Standing standing;
    int64_t decided_at;
    int64_t id;
    int64_t queue_key;
  };
  std::map<std::pair<int64_t, std::string>, Outcome> outcomes;
  for (const auto& row : Run(txn, sql::kCheckOutcomes, ids)) {
    outcomes[{row[0].as<int64_t>(), row[1].as<std::string>()}] = {
        StandingOf(row[3].as<std::string>(), row[4].as<std::string>()),
        row[5].is_null() ? 0 : row[5].as<int64_t>(), row[2].as<int64_t>(), row[6].as<int64_t>()};
  }
  std::vector<FcfsApplicant> applicants;
  applicants.reserve(records.size());
  for (const ApplyRecord& r : records) {
    FcfsApplicant a;
    a.campaign_id = r.campaign_id;
    a.acknowledged = r.acknowledged;
    a.first_send = r.first_send;
    a.reply = r.reply;
    auto it = outcomes.find({r.campaign_id, r.user_id});
    if (it != outcomes.end()) {
      a.standing = it->second.standing;
      a.decided_at_micros = it->second.decided_at;
      a.application_id = it->second.id;
      a.queue_key = it->second.queue_key;
    }
    applicants.push_back(a);
  }
  v->invariants.fcfs = CountFcfsViolations(applicants, releases);
  if (v->invariants.fcfs > 0) {
    findings->Add("(i) first come, first served",
                  absl::StrCat(v->invariants.fcfs,
                               " approved or held application(s) went ahead of an earlier one"));
  }
}

}  // namespace

bool InvariantCounts::AllHold() const {
  return over_cap == 0 && count_mismatch == 0 && duplicated == 0 && ack_missing == 0 &&
         ack_wrong_id == 0 && ack_pending == 0 && still_pending == 0 && decided_not_once == 0 &&
         !audit_missing && fill_wrong == 0 && attempts_wrong == 0 && fcfs == 0 &&
         illegal_transitions == 0 && still_held == 0 && over_cap_at_commit == 0 &&
         seat_not_passed_on == 0 && seat_freed_twice == 0 && sampled_over_cap == 0 &&
         late_expiry == 0 && sampled_overdue == 0;
}

const CampaignTally& Verdict::Campaign(int64_t campaign_id) const {
  static const CampaignTally kNone;
  for (const CampaignTally& t : campaigns) {
    if (t.campaign_id == campaign_id) return t;
  }
  return kNone;
}

absl::StatusOr<std::vector<ApplyRecord>> RecordsInIdOrder(
    const std::string& database_url, const std::vector<int64_t>& campaign_ids) {
  try {
    pqxx::connection connection(database_url);
    pqxx::nontransaction txn(connection);
    std::vector<ApplyRecord> records;
    for (const auto& row :
         Run(txn, sql::kCheckApplicationsInIdOrder, db::BigintArrayLiteral(campaign_ids))) {
      ApplyRecord& r = records.emplace_back();
      r.application_id = row[0].as<int64_t>();
      r.campaign_id = row[1].as<int64_t>();
      r.user_id = row[2].as<std::string>();
      r.acknowledged = true;
      r.attempts = 1;
      const auto at = std::chrono::microseconds(2 * static_cast<int64_t>(records.size()));
      r.first_send = SteadyTime(at);
      r.reply = SteadyTime(at + std::chrono::microseconds(1));
    }
    return records;
  } catch (const std::exception& error) {
    return absl::InternalError(absl::StrCat("reading the stored applications: ", error.what()));
  }
}

std::vector<int64_t> CampaignsOf(const std::vector<ApplyRecord>& records) {
  std::set<int64_t> ids;
  for (const ApplyRecord& r : records) ids.insert(r.campaign_id);
  return {ids.begin(), ids.end()};
}

absl::Status InstallDecisionAudit(const std::string& database_url) {
  try {
    pqxx::connection connection(database_url);
    pqxx::work txn(connection);
    for (Statement statement : {sql::kCheckAuditCreateTable, sql::kCheckAuditAddTransaction,
                                sql::kCheckAuditTransactionDefault, sql::kCheckAuditCreateIndex,
                                sql::kCheckAuditCreateFunction, sql::kCheckAuditCreateTrigger}) {
      Run(txn, statement);
    }
    txn.commit();
    return absl::OkStatus();
  } catch (const std::exception& error) {
    return absl::InternalError(absl::StrCat("installing the decision audit: ", error.what()));
  }
}

absl::StatusOr<bool> WaitUntilNothingPending(const std::string& database_url,
                                             const std::vector<int64_t>& campaign_ids,
                                             SteadyTime deadline,
                                             const std::function<void(int64_t)>& on_poll,
                                             bool holds_too) {
  const std::string ids = db::BigintArrayLiteral(campaign_ids);
  std::unique_ptr<pqxx::connection> connection;
  for (;;) {
    // A lost database (a restart mid-storm) is retried on a new connection
    // until the deadline; only an error at the deadline is reported.
    std::string error;
    try {
      if (connection == nullptr) connection = std::make_unique<pqxx::connection>(database_url);
      pqxx::nontransaction txn(*connection);
      const int64_t pending =
          Run(txn, sql::kCheckUnsettledCount, ids, holds_too)[0][0].as<int64_t>();
      if (on_poll) on_poll(pending);
      if (pending == 0) return true;
    } catch (const std::exception& e) {
      error = e.what();
      connection.reset();
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      if (error.empty()) return false;
      return absl::InternalError(absl::StrCat("counting pending applications: ", error));
    }
    // Paces the re-reads only; the count decides.
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(kPollInterval, deadline - now));
  }
}

absl::StatusOr<Verdict> Verify(const std::string& database_url,
                               const std::vector<ApplyRecord>& records,
                               const VerifyOptions& options) {
  Verdict v;
  Findings findings(&v.violations);
  try {
    pqxx::connection connection(database_url);
    Snapshot txn(connection);
    std::vector<int64_t> campaign_ids =
        options.campaign_ids.empty() ? CampaignsOf(records) : options.campaign_ids;
    if (options.campaign_ids.empty() && options.all_campaigns) {
      campaign_ids.clear();
      for (const auto& row : Run(txn, sql::kCheckAllCampaigns)) {
        campaign_ids.push_back(row[0].as<int64_t>());
      }
    }
    const std::string ids = db::BigintArrayLiteral(campaign_ids);
    CheckCampaigns(txn, ids, records, &v, &findings);
    CheckApplications(txn, ids, records, options, &v, &findings);
    const std::vector<SeatRelease> releases = CheckAudit(txn, ids, options, &v, &findings);
    CheckAttempts(txn, ids, options, &v, &findings);
    CheckFcfs(txn, ids, records, releases, &v, &findings);
    if (options.samples != nullptr) AddSamples(*options.samples, &v, &findings);
    const pqxx::row span = Run(txn, sql::kCheckDecideSpan, ids)[0];
    if (!span[0].is_null() && !span[1].is_null()) {
      v.decide_seconds = std::max<int64_t>(0, span[1].as<int64_t>() - span[0].as<int64_t>()) / 1e6;
    }
    txn.commit();
  } catch (const std::exception& error) {
    return absl::InternalError(absl::StrCat("verifying the storm: ", error.what()));
  }
  findings.Finish();
  return v;
}

}  // namespace campaignq::verify
