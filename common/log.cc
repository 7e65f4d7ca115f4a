#include "common/log.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/json_text.h"

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

bool JsonFromEnvironment() {
  const char* value = std::getenv("CAMPAIGNQ_LOG_FORMAT");
  return value != nullptr && std::string(value) == "json";
}

// {"time":..,"level":..,"component":..,"message":..} plus every key=value
// token of the message whose key is an identifier, the first of each key
// only: a JSON object with a key twice is refused by strict parsers (found
// by fuzz/log_fuzz); the message keeps them all.
std::string JsonLine(absl::string_view time, const char* level, absl::string_view component,
                     absl::string_view message) {
  std::string line =
      absl::StrCat("{\"time\":", JsonQuoted(time), ",\"level\":", JsonQuoted(level),
                   ",\"component\":", JsonQuoted(component), ",\"message\":", JsonQuoted(message));
  std::set<absl::string_view> lifted;
  for (absl::string_view token : absl::StrSplit(message, ' ', absl::SkipEmpty())) {
    const size_t equals = token.find('=');
    if (equals == absl::string_view::npos || equals == 0) continue;
    const absl::string_view key = token.substr(0, equals);
    bool identifier = true;
    for (char c : key) identifier &= absl::ascii_isalnum(c) || c == '_';
    if (!identifier || key == "time" || key == "level" || key == "component" || key == "message" ||
        !lifted.insert(key).second) {
      continue;
    }
    absl::StrAppend(&line, ",", JsonQuoted(key), ":", JsonQuoted(token.substr(equals + 1)));
  }
  return line + "}\n";
}

std::atomic<LogLevel>& MinLevel() {
  static std::atomic<LogLevel> level{LevelFromEnvironment()};
  return level;
}

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "DEBUG";
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kWarning:
      return "WARN";
    case LogLevel::kError:
      return "ERROR";
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
  static const bool json = JsonFromEnvironment();
  const std::string time =
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  const std::string line =
      json ? JsonLine(time, LevelName(level), component, text)
           : absl::StrCat(time, " ", LevelName(level), " ", component, ": ", text, "\n");
  // One fwrite per line: stdio locks the stream, so lines never interleave.
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace campaignq
