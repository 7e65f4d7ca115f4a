#pragma once
// Writing JSON text by hand (logs, the lab's report) without a JSON library.

#include <string>

#include "absl/strings/string_view.h"

namespace campaignq {

// `text` escaped for use inside a JSON string (quotes, backslashes,
// control characters); UTF-8 passes through.
std::string JsonEscape(absl::string_view text);

// `text` as a JSON string literal, quotes included.
std::string JsonQuoted(absl::string_view text);

}  // namespace campaignq
