#include "client/storm_report.h"

#include <algorithm>
#include <chrono>

namespace campaignq::client {

void FinishReport(const std::vector<verify::ApplyRecord>& records, StormReport* report) {
  bool any = false;
  verify::SteadyTime first_send = verify::SteadyTime::max(), last_reply = verify::SteadyTime::min();
  for (const verify::ApplyRecord& r : records) {
    if (!r.acknowledged) ++report->apply_failures;
    if (r.attempts == 0) continue;
    any = true;
    first_send = std::min(first_send, r.first_send);
    last_reply = std::max(last_reply, r.reply);
  }
  if (any && last_reply > first_send) {
    report->apply_seconds = std::chrono::duration<double>(last_reply - first_send).count();
  }
  report->decide_seconds = report->verdict.decide_seconds;
  report->applies_per_second =
      report->apply_seconds > 0 ? report->verdict.acknowledged / report->apply_seconds : 0;
  report->decisions_per_second =
      report->decide_seconds > 0 ? report->verdict.decided / report->decide_seconds : 0;
}

}  // namespace campaignq::client
