#pragma once
// What `campaignq storm` reports: the verification kit's verdict (read from
// the database) plus what only the client measured.

#include <cstdint>
#include <vector>

#include "common/verify/checks.h"

namespace campaignq::client {

struct StormReport {
  verify::Verdict verdict;
  int64_t apply_failures = 0;  // applicants whose Apply was never acknowledged
  bool decide_timed_out = false;
  double elapsed_seconds = 0;  // the whole storm, creation to report
  double apply_seconds = 0;    // first send to last reply
  double decide_seconds = 0;   // database time: first Apply stored to last decision
  double applies_per_second = 0;
  double decisions_per_second = 0;
  // With --hold-duration: what the holders did with the holds they saw.
  bool holds = false;
  int64_t holds_seen = 0;
  int64_t confirmed = 0;
  int64_t released = 0;
  int64_t let_expire = 0;
  int64_t confirms_too_late = 0;  // FAILED_PRECONDITION: the hold had expired first
};

// Fills apply_failures and apply_seconds from the records, decide_seconds
// from the verdict, and the rates (0 when a span is 0).
void FinishReport(const std::vector<verify::ApplyRecord>& records, StormReport* report);

}  // namespace campaignq::client
