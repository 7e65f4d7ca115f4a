#pragma once
// The lab's report as a terminal table and as one JSON document.

#include <string>

#include "lab/result.h"

namespace campaignq::lab {

// Fixed columns per scenario, the notes on how races were widened, and a
// verdict per row.
std::string FormatTable(const LabReport& report);

std::string FormatJson(const LabReport& report);

// "40001:3 55P03:12", or "-" when empty.
std::string FormatErrors(const std::map<std::string, int64_t>& errors);

// The verdict column: "BROKE (expected)", "holds", "VIOLATED", "did not break".
std::string Verdict(const StrategyResult& result);

}  // namespace campaignq::lab
