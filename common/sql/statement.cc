#include "common/sql/statement.h"

#include <cstdio>
#include <cstdlib>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace campaignq::sql {

std::vector<std::pair<std::string, std::string>> SplitNamedStatements(const std::string& text) {
  constexpr absl::string_view kHeader = "-- name: ";
  std::vector<std::pair<std::string, std::string>> statements;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, kHeader)) {
      statements.emplace_back(std::string(absl::StripAsciiWhitespace(line.substr(kHeader.size()))),
                              std::string());
    } else if (!statements.empty()) {
      statements.back().second.append(line.data(), line.size()).push_back('\n');
    }
  }
  for (auto& [name, body] : statements) {
    // Trailing semicolons are not allowed in prepared statements.
    absl::string_view trimmed = absl::StripAsciiWhitespace(body);
    absl::ConsumeSuffix(&trimmed, ";");
    body = std::string(trimmed);
  }
  return statements;
}

const std::vector<std::pair<std::string, std::string>>& AllStatements() {
  static const auto* all = [] {
    auto* statements = new std::vector<std::pair<std::string, std::string>>();
    for (const SqlFile& file : QueryFiles()) {
      for (auto& statement : SplitNamedStatements(file.text))
        statements->push_back(std::move(statement));
    }
    return statements;
  }();
  return *all;
}

std::map<std::string, std::string> NamedStatementsOf(const std::vector<SqlFile>& files) {
  std::map<std::string, std::string> by_name;
  for (const SqlFile& file : files) {
    for (auto& [name, text] : SplitNamedStatements(file.text)) by_name[name] = std::move(text);
  }
  return by_name;
}

const std::string& StatementText(Statement statement) {
  static const auto* by_name = [] {
    auto* map = new std::map<std::string, const std::string*>();
    for (const auto& [name, text] : AllStatements()) (*map)[name] = &text;
    return map;
  }();
  auto it = by_name->find(statement.name);
  if (it == by_name->end()) {
    std::fprintf(stderr, "campaignq: no SQL statement named %s\n", statement.name);
    std::abort();
  }
  return *it->second;
}

}  // namespace campaignq::sql
