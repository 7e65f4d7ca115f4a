#include "client/table.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace campaignq::client {
namespace {

using verify::CampaignTally;
using verify::InvariantCounts;

std::string CapText(const CampaignTally& t) { return t.cap ? absl::StrCat(*t.cap) : "-"; }

std::string Row(absl::string_view label, const CampaignTally& t) {
  return absl::StrFormat("%-10s %8s %9d %10d %9d %8d %6d %9d %13d%s\n", label, CapText(t),
                         t.approved, t.waitlisted, t.rejected_full + t.rejected_other, t.pending,
                         t.cancelled + t.failed, t.overflow, t.approved_count,
                         t.count_mismatch ? "*" : "");
}

std::string Verdict(int64_t broken) { return broken == 0 ? "ok    " : "BROKEN"; }

std::string TallyJson(const CampaignTally& t) {
  return absl::StrCat(
      "{\"campaign_id\":", t.campaign_id, ",\"cap\":", t.cap ? absl::StrCat(*t.cap) : "null",
      ",\"waitlist\":", t.waitlist ? "true" : "false", ",\"rows\":", t.rows,
      ",\"acknowledged\":", t.acknowledged, ",\"approved\":", t.approved,
      ",\"waitlisted\":", t.waitlisted, ",\"rejected_full\":", t.rejected_full,
      ",\"rejected_other\":", t.rejected_other, ",\"pending\":", t.pending,
      ",\"cancelled\":", t.cancelled, ",\"failed\":", t.failed, ",\"held\":", t.held,
      ",\"released\":", t.released, ",\"expired\":", t.expired, ",\"overflow\":", t.overflow,
      ",\"approved_count\":", t.approved_count,
      ",\"count_mismatch\":", t.count_mismatch ? "true" : "false",
      ",\"fill_checked\":", t.fill_checked ? "true" : "false",
      ",\"fill_ok\":", t.fill_ok ? "true" : "false", "}");
}

// What the holders did (null without --hold-duration).
std::string HoldsJson(const StormReport& r) {
  if (!r.holds) return "null";
  return absl::StrCat("{\"seen\":", r.holds_seen, ",\"confirmed\":", r.confirmed,
                      ",\"released\":", r.released, ",\"let_expire\":", r.let_expire,
                      ",\"confirms_too_late\":", r.confirms_too_late,
                      ",\"expired\":", r.verdict.totals.expired, "}");
}

// %.3f keeps JSON numbers finite and locale-free.
std::string Num(double v) { return absl::StrFormat("%.3f", v); }

std::string AuditLine(const InvariantCounts& inv) {
  if (inv.audit_checked) {
    return absl::StrFormat("  %s (f) each application left pending exactly once: %d not\n",
                           Verdict(inv.decided_not_once), inv.decided_not_once);
  }
  return absl::StrFormat("  %s (f) each application left pending exactly once: %s\n",
                         Verdict(inv.audit_missing ? 1 : 0),
                         inv.audit_missing ? "the decision audit is missing"
                                           : "skipped (no decision audit installed)");
}

// (k) and (l), and (e)'s holds: the lines a storm without holds and
// without the audit has nothing to say in are left out.
std::string SeatLines(const InvariantCounts& inv, bool holds) {
  std::string out;
  if (inv.samples > 0) {
    absl::StrAppendFormat(&out, "  %s (k) approved + held <= cap in every sample: %d of %d over\n",
                          Verdict(inv.sampled_over_cap), inv.sampled_over_cap, inv.samples);
  }
  if (inv.audit_checked) {
    absl::StrAppendFormat(
        &out,
        "  %s (k) seats commit by commit (audit): %d over the cap, %d given back to nobody, %d "
        "given back twice; %d campaign(s) replayed, %d skipped\n",
        Verdict(inv.over_cap_at_commit + inv.seat_not_passed_on + inv.seat_freed_twice),
        inv.over_cap_at_commit, inv.seat_not_passed_on, inv.seat_freed_twice, inv.seats_replayed,
        inv.seats_skipped);
  }
  if (!holds) return out;
  absl::StrAppendFormat(&out, "  %s (e) every hold ended: %d still held\n", Verdict(inv.still_held),
                        inv.still_held);
  absl::StrAppendFormat(&out,
                        "  %s (l) holds end within 1s of their expiry: %d late (audit), %d "
                        "sample(s) with one held late; latest %d ms\n",
                        Verdict(inv.late_expiry + inv.sampled_overdue), inv.late_expiry,
                        inv.sampled_overdue, inv.latest_expiry_ms);
  return out;
}

}  // namespace

std::string FormatStormTable(const StormReport& report) {
  const verify::Verdict& v = report.verdict;
  const InvariantCounts& inv = v.invariants;
  std::string out =
      absl::StrFormat("%-10s %8s %9s %10s %9s %8s %6s %9s %13s\n", "campaign", "cap", "approved",
                      "waitlisted", "rejected", "pending", "other", "overflow", "approved_count");
  for (const CampaignTally& t : v.campaigns) out += Row(absl::StrCat(t.campaign_id), t);
  out += Row("total", v.totals);
  out += "(other = cancelled + failed; * = approved_count differs from approved rows)\n\n";

  out += "invariants (checked in the database):\n";
  absl::StrAppendFormat(&out, "  %s (a) approved + held <= cap: %d campaign(s) over\n",
                        Verdict(inv.over_cap), inv.over_cap);
  absl::StrAppendFormat(&out, "  %s (b) approved_count == approved rows: %d campaign(s) off\n",
                        Verdict(inv.count_mismatch), inv.count_mismatch);
  absl::StrAppendFormat(&out, "  %s (c) one application per user and campaign: %d duplicated\n",
                        Verdict(inv.duplicated), inv.duplicated);
  absl::StrAppendFormat(&out,
                        "  %s (d) acknowledged applies stored and decided: %d missing, %d under "
                        "another id, %d pending\n",
                        Verdict(inv.ack_missing + inv.ack_wrong_id + inv.ack_pending),
                        inv.ack_missing, inv.ack_wrong_id, inv.ack_pending);
  absl::StrAppendFormat(&out, "  %s (e) nothing left pending: %d pending\n",
                        Verdict(inv.still_pending), inv.still_pending);
  out += AuditLine(inv);
  absl::StrAppendFormat(&out,
                        "  %s (g) approved == min(cap, applied), rest %s: %d wrong, %d skipped "
                        "(pending or closed)\n",
                        Verdict(inv.fill_wrong), "waitlisted/rejected as full", inv.fill_wrong,
                        inv.fill_skipped);
  absl::StrAppendFormat(&out, "  %s (h) attempts charged only to failed applications: %d wrong\n",
                        Verdict(inv.attempts_wrong), inv.attempts_wrong);
  absl::StrAppendFormat(&out, "  %s (i) first come, first served: %d violation(s)\n",
                        Verdict(inv.fcfs), inv.fcfs);
  absl::StrAppendFormat(&out, "  %s (j) only legal status changes (audit): %d illegal\n",
                        Verdict(inv.illegal_transitions), inv.illegal_transitions);
  out += SeatLines(inv, report.holds);
  out += "\n";

  absl::StrAppendFormat(&out, "applicants %d, acknowledged %d, unconfirmed %d, decided %d%s\n",
                        v.applicants, v.acknowledged, report.apply_failures, v.decided,
                        report.decide_timed_out ? " (TIMED OUT waiting for decisions)" : "");
  absl::StrAppendFormat(&out,
                        "elapsed %.3fs; apply %.3fs (%.1f Apply/s); decide %.3fs (%.1f "
                        "decisions/s)\n",
                        report.elapsed_seconds, report.apply_seconds, report.applies_per_second,
                        report.decide_seconds, report.decisions_per_second);
  if (report.holds) {
    absl::StrAppendFormat(&out,
                          "holds %d: confirmed %d, released %d, left to expire %d, confirms the "
                          "expiry beat %d; expired %d, still held %d\n",
                          report.holds_seen, report.confirmed, report.released, report.let_expire,
                          report.confirms_too_late, v.totals.expired, v.totals.held);
  }
  absl::StrAppendFormat(&out, "result: %s\n",
                        inv.AllHold() ? "all invariants hold" : "INVARIANTS BROKEN");
  return out;
}

std::string FormatStormJson(const StormReport& report) {
  const verify::Verdict& v = report.verdict;
  const InvariantCounts& inv = v.invariants;
  std::vector<std::string> campaigns;
  campaigns.reserve(v.campaigns.size());
  for (const CampaignTally& t : v.campaigns) campaigns.push_back(TallyJson(t));
  return absl::StrCat(
      "{\"campaigns\":[", absl::StrJoin(campaigns, ","), "],\"totals\":", TallyJson(v.totals),
      ",\"invariants\":{\"ok\":", inv.AllHold() ? "true" : "false", ",\"over_cap\":", inv.over_cap,
      ",\"fill_wrong\":", inv.fill_wrong, ",\"fill_skipped\":", inv.fill_skipped,
      ",\"count_mismatch\":", inv.count_mismatch, ",\"ack_missing\":", inv.ack_missing,
      ",\"ack_duplicated\":", inv.duplicated, ",\"ack_pending\":", inv.ack_pending,
      ",\"ack_wrong_id\":", inv.ack_wrong_id, ",\"still_pending\":", inv.still_pending,
      ",\"decided_not_once\":", inv.decided_not_once,
      ",\"audit_checked\":", inv.audit_checked ? "true" : "false",
      ",\"attempts_wrong\":", inv.attempts_wrong, ",\"fcfs_violations\":", inv.fcfs,
      ",\"illegal_transitions\":", inv.illegal_transitions, ",\"still_held\":", inv.still_held,
      ",\"over_cap_at_commit\":", inv.over_cap_at_commit,
      ",\"seat_not_passed_on\":", inv.seat_not_passed_on,
      ",\"seat_freed_twice\":", inv.seat_freed_twice, ",\"seats_replayed\":", inv.seats_replayed,
      ",\"seats_skipped\":", inv.seats_skipped, ",\"samples\":", inv.samples,
      ",\"sampled_over_cap\":", inv.sampled_over_cap, ",\"late_expiry\":", inv.late_expiry,
      ",\"sampled_overdue\":", inv.sampled_overdue, ",\"latest_expiry_ms\":", inv.latest_expiry_ms,
      "}", ",\"holds\":", HoldsJson(report), ",\"applicants\":", v.applicants,
      ",\"acknowledged\":", v.acknowledged, ",\"apply_failures\":", report.apply_failures,
      ",\"decided\":", v.decided,
      ",\"decide_timed_out\":", report.decide_timed_out ? "true" : "false",
      ",\"elapsed_seconds\":", Num(report.elapsed_seconds),
      ",\"apply_seconds\":", Num(report.apply_seconds),
      ",\"decide_seconds\":", Num(report.decide_seconds),
      ",\"applies_per_second\":", Num(report.applies_per_second),
      ",\"decisions_per_second\":", Num(report.decisions_per_second), "}");
}

}  // namespace campaignq::client
