#include "common/log.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace campaignq {
namespace {

LogLevel LevelFromEnvironment() {
  const char* value = std::getenv("CAMPAIGNQ_LOG_LEVEL");
  if (value == nullptr) return LogLevel::kInfo;
  const std::string level(value);
  if (level == "debug") return LogLevel::kDebug;
  if (level == "warning") return LogLevel::kWarning;
  if (level == "error") return LogLevel::kError;
  return LogLevel::kInfo;
}

std::atomic<LogLevel>& MinLevel() {
  static std::atomic<LogLevel> level{LevelFromEnvironment()};
  return level;
}

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "DEBUG";
    case LogLevel::kInfo: return "INFO";
    case LogLevel::kWarning: return "WARN";
    case LogLevel::kError: return "ERROR";
  }
  return "?";
}

}  // namespace

void SetMinLogLevel(LogLevel level) { MinLevel().store(level); }

bool LogEnabled(LogLevel level) { return level >= MinLevel().load(std::memory_order_relaxed); }

void LogLine(LogLevel level, absl::string_view component, absl::string_view message) {
  // One event, one line: libpq messages carry newlines and tabs.
  std::string text(message);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  absl::StrReplaceAll({{"\n", " | "}, {"\t", " "}}, &text);
  const std::string line = absl::StrCat(
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()), " ",
      LevelName(level), " ", component, ": ", text, "\n");
  // One fwrite per line: stdio locks the stream, so lines never interleave.
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace campaignq
