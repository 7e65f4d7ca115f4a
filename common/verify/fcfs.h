#pragma once
// First come, first served: the one written definition and the one check.
//
// THE DEFINITION (the lead's decision for issue 9, bug 6; docs/architecture.md,
// "First come, first served", says the same):
//
//   If Apply A was acknowledged (its reply received) before Apply B to the
//   same campaign was first sent, then B is not offered a seat (approved,
//   or held by a campaign with a hold duration, whatever became of the
//   hold) while A is waitlisted or rejected campaign_full — unless a seat
//   of that campaign was given back (a seat's cancellation, a hold's
//   release or expiry) after A was decided and before B was
//   offered (a freed seat goes to whoever is next in line at that moment:
//   the oldest waitlisted application, or, without a waitlist, the next
//   pending one; a rejection is final). Applications whose Apply was never
//   acknowledged have no place in line that a client can prove; they may be
//   B, never A. Applications that failed or were cancelled are neither A
//   nor B.
//
// THE PRE-QUEUE (issue 21; docs/queue-order.md). "A is ahead of B" above is
// "A was acknowledged before B was first sent" between two arrivals. An
// acknowledged application of the pre-queue (queue_key < 0) is ahead of
// every arrival, whatever the times, and of every pre-queued one behind it
// in (queue_key, id) order (the database's order, which anyone recomputes
// from the published seed); within the pre-queue, times order nothing. The
// rest of the definition is unchanged.
//
// Clocks: the client's steady clock orders A and B (A's reply before B's
// first send); the cancellation exception compares database times only
// (A's decided_at, the audited approved -> cancelled change, B's
// decided_at). Both are what each side can prove: a client cannot see the
// database's order, and the database cannot see when a reply arrived.
//
// What the exception covers, read exactly: a seat given back while A is
// WAITLISTED goes to the oldest waitlisted application, which is A or
// someone ahead of A, never B (B came after A, so B is behind A in the queue order).
// So the exception can only excuse B over an A that was rejected
// campaign_full (a campaign without a waitlist): the seat went to the next
// pending application, which B may rightly have been. Over a waitlisted A,
// B is never excused.

#include <chrono>
#include <cstdint>
#include <vector>

namespace campaignq::verify {

using SteadyTime = std::chrono::steady_clock::time_point;

// An application's final standing, as far as FCFS cares.
enum class Standing {
  kApproved,  // offered a seat: approved, or held (released or expired since)
  kWaitlisted,
  kRejectedFull,  // rejected with reason campaign_full
  kOther,         // pending, failed, cancelled, rejected campaign_closed, missing
};

// One application as the FCFS check sees it.
struct FcfsApplicant {
  int64_t campaign_id = 0;
  bool acknowledged = false;  // the Apply's reply was received
  SteadyTime first_send{};    // just before the first attempt
  SteadyTime reply{};         // just after the acknowledging reply
  Standing standing = Standing::kOther;
  // The database's decided_at, microseconds since the epoch: when A lost,
  // when B was approved (a campaign without a waitlist approves only when
  // it decides). 0 when unknown.
  int64_t decided_at_micros = 0;
  // Its place in line (0, 0 when unknown: an arrival). queue_key < 0: in
  // the pre-queue.
  int64_t queue_key = 0;
  int64_t application_id = 0;
  bool prequeued() const { return queue_key < 0; }
};

// A seat given back: an approved application of `campaign_id` cancelled, or
// a hold cancelled, released or expired, at `at_micros` (the database's
// clock, microseconds since the epoch).
struct SeatRelease {
  int64_t campaign_id = 0;
  int64_t at_micros = 0;
};

// Returns the number of approved applications B that break the definition
// above against at least one A; each such B counts once. Overlapping
// Applies (B sent before A's reply) never break it: the server may order
// them either way. O(n log n) in applicants plus releases.
int64_t CountFcfsViolations(const std::vector<FcfsApplicant>& applicants,
                            const std::vector<SeatRelease>& releases);

}  // namespace campaignq::verify
