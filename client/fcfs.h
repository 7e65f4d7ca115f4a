#pragma once
// First-come-first-served, judged by real time as the client saw it.

#include <cstdint>
#include <vector>

#include "client/applicant_record.h"

namespace campaignq::client {

// Returns the number of APPROVED applicants B for which some applicant A of
// the same campaign lost (WAITLISTED, or REJECTED with reason campaign_full)
// although A's Apply was acknowledged before B's was first sent
// (A.reply_ns < B.send_ns). Each violating B counts once. Overlapping
// applies are never violations: the server may order them either way.
// Losers must be acknowledged (their reply time is meaningful); approved
// applicants count whether or not their own reply arrived. O(n log n).
int64_t CountFcfsViolations(const std::vector<ApplicantRecord>& records);

}  // namespace campaignq::client
