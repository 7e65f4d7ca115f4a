#pragma once
// The lab's report as one self-contained HTML page: inline CSS and SVG,
// no scripts, nothing fetched from the network.

#include <string>

#include "lab/result.h"

namespace campaignq::lab {

std::string FormatHtml(const LabReport& report);

// Escapes &, <, >, " for HTML text and attributes.
std::string HtmlEscape(const std::string& text);

}  // namespace campaignq::lab
