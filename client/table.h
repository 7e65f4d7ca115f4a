#pragma once
// Renders a storm report for people (a table) and for scripts (JSON).

#include <string>

#include "client/storm_report.h"

namespace campaignq::client {

// Returns a multi-line table: one row per campaign, a total row, one line
// per invariant (ok / BROKEN with its count), and the rates. A '*' after
// approved_count flags a counter that disagrees with the approved rows.
std::string FormatStormTable(const StormReport& report);

// Returns one JSON object with the same numbers: "campaigns" (array),
// "totals", "invariants" (counts plus "ok"), and the timing fields.
std::string FormatStormJson(const StormReport& report);

}  // namespace campaignq::client
