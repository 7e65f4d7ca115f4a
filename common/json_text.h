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

// The campaignq CLI's error object under --json (client/rpc.h has the whole
// shape) for a failure that is no RPC's:
// {"code":"USAGE","message":"...","exit_code":2}. Here so that the race lab,
// which the CLI library may not depend on, prints the same.
std::string ErrorJson(absl::string_view code, absl::string_view message, int exit_code);

}  // namespace campaignq
