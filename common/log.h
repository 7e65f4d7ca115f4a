#pragma once
// One line per event on stderr: time, level, component, message, and
// key=value fields (application and campaign ids), so logs grep well. With
// CAMPAIGNQ_LOG_FORMAT=json each line is a JSON object instead, the
// key=value fields of the message lifted into its own members
// ({"time":...,"level":"INFO","component":"worker","message":"...",
// "campaign_id":"12"}), for log pipelines.

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace campaignq {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

// Thread-safe; whole lines never interleave.
void LogLine(LogLevel level, absl::string_view component, absl::string_view message);

// Messages below this level are dropped. Default kInfo; CAMPAIGNQ_LOG_LEVEL
// (debug, info, warning, error) sets it at start.
void SetMinLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);

template <typename... Parts>
void LogInfo(absl::string_view component, const Parts&... parts) {
  if (LogEnabled(LogLevel::kInfo)) LogLine(LogLevel::kInfo, component, absl::StrCat(parts...));
}
template <typename... Parts>
void LogWarning(absl::string_view component, const Parts&... parts) {
  if (LogEnabled(LogLevel::kWarning))
    LogLine(LogLevel::kWarning, component, absl::StrCat(parts...));
}
template <typename... Parts>
void LogError(absl::string_view component, const Parts&... parts) {
  if (LogEnabled(LogLevel::kError)) LogLine(LogLevel::kError, component, absl::StrCat(parts...));
}
template <typename... Parts>
void LogDebug(absl::string_view component, const Parts&... parts) {
  if (LogEnabled(LogLevel::kDebug)) LogLine(LogLevel::kDebug, component, absl::StrCat(parts...));
}

}  // namespace campaignq
