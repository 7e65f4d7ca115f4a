#pragma once
// Seats, commit by commit: the decision audit (sql/checks/audit.sql)
// replayed one campaign at a time, one transaction at a time, in the order
// the campaign's transactions committed. Every status change of a capped
// campaign's applications holds the campaign's lock, so its transactions
// commit one after another and the replay sees each state a reader could
// have seen, not only the end state and whatever a sampler happened to
// catch. What it proves after every commit:
//
//   over the cap     approved + held <= max_participants
//   not passed on    a transaction that gave a seat back (a hold released,
//                    expired or cancelled; an approval cancelled) while an
//                    application waited (waitlisted) and offers were not
//                    blocked (every seat offered, or max_active_holds
//                    held) gave it to the next in line in the same
//                    transaction, as docs/holds.md promises
//   freed twice      an application gives its seat back at most once
//
// Pure: the caller reads the audit; checks.cc is the I/O.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace campaignq::verify {

// One audited status change.
struct StatusChange {
  int64_t campaign_id = 0;
  int64_t application_id = 0;
  int64_t transaction = 0;  // the changing transaction's id
  std::string old_status;
  std::string new_status;
};

// What the replay needs to know of one campaign.
struct SeatRules {
  int64_t campaign_id = 0;
  int64_t cap = 0;
  std::optional<int64_t> max_active_holds;
  // "Not passed on" applies: no pending row can be ahead of the waitlist (a
  // retried application keeps its place, a pre-queue orders by queue key;
  // ApplicationFillFreeSeats leaves such a seat to the worker) and no
  // closes_at (past it the seat goes to nobody before the close is marked).
  bool passes_seats_on = true;
};

struct SeatFinding {
  enum Kind { kOverCap, kNotPassedOn, kFreedTwice };
  Kind kind = kOverCap;
  int64_t campaign_id = 0;
  int64_t transaction = 0;
  int64_t application_id = 0;  // kFreedTwice
  int64_t offered = 0;         // after the transaction
  int64_t waitlisted = 0;      // after the transaction
};

// One campaign's state once every change is replayed: what its rows must
// show if the audit saw all of its changes (it was installed before the
// campaign's first decision).
struct SeatTotals {
  int64_t campaign_id = 0;
  int64_t offered = 0;
  int64_t waitlisted = 0;
  int64_t transactions = 0;
};

struct SeatReplay {
  std::vector<SeatFinding> findings;
  std::vector<SeatTotals> totals;  // one per campaign of `rules`, in its order
};

// `changes` must be grouped by campaign and, within one, in commit order
// (a transaction's changes together, in the order they were made).
// Campaigns not in `rules` (uncapped) are skipped.
SeatReplay ReplaySeats(const std::vector<StatusChange>& changes,
                       const std::vector<SeatRules>& rules);

}  // namespace campaignq::verify
