#include "common/verify/seats.h"

#include <map>

namespace campaignq::verify {
namespace {

bool Offered(const std::string& status) { return status == "approved" || status == "held"; }

// A seat comes back: its holder stops holding or having it, and not to
// keep it (held -> approved is a confirm; the seat stays taken).
bool GivesBack(const StatusChange& c) { return Offered(c.old_status) && !Offered(c.new_status); }

struct State {
  const SeatRules* rules = nullptr;
  int64_t offered = 0;
  int64_t held = 0;
  int64_t waitlisted = 0;
  int64_t transactions = 0;
  std::map<int64_t, int> given_back;  // application -> times
};

}  // namespace

SeatReplay ReplaySeats(const std::vector<StatusChange>& changes,
                       const std::vector<SeatRules>& rules) {
  SeatReplay replay;
  std::map<int64_t, State> states;
  for (const SeatRules& r : rules) states[r.campaign_id].rules = &r;

  size_t i = 0;
  while (i < changes.size()) {
    const int64_t campaign = changes[i].campaign_id, transaction = changes[i].transaction;
    size_t end = i;
    while (end < changes.size() && changes[end].campaign_id == campaign &&
           changes[end].transaction == transaction) {
      ++end;
    }
    auto it = states.find(campaign);
    if (it == states.end()) {
      i = end;
      continue;
    }
    State& s = it->second;
    ++s.transactions;
    int64_t returned = 0;
    for (; i < end; ++i) {
      const StatusChange& c = changes[i];
      s.offered += Offered(c.new_status) - Offered(c.old_status);
      s.held += (c.new_status == "held") - (c.old_status == "held");
      s.waitlisted += (c.new_status == "waitlisted") - (c.old_status == "waitlisted");
      if (!GivesBack(c)) continue;
      ++returned;
      if (++s.given_back[c.application_id] == 2) {
        replay.findings.push_back({SeatFinding::kFreedTwice, campaign, transaction,
                                   c.application_id, s.offered, s.waitlisted});
      }
    }
    const SeatRules& r = *s.rules;
    if (s.offered > r.cap) {
      replay.findings.push_back(
          {SeatFinding::kOverCap, campaign, transaction, 0, s.offered, s.waitlisted});
    }
    const bool blocked =
        s.offered >= r.cap || (r.max_active_holds && s.held >= *r.max_active_holds);
    if (returned > 0 && r.passes_seats_on && s.waitlisted > 0 && !blocked) {
      replay.findings.push_back(
          {SeatFinding::kNotPassedOn, campaign, transaction, 0, s.offered, s.waitlisted});
    }
  }
  for (const SeatRules& r : rules) {
    const State& s = states[r.campaign_id];
    replay.totals.push_back({r.campaign_id, s.offered, s.waitlisted, s.transactions});
  }
  return replay;
}

}  // namespace campaignq::verify
