// Unit tier: the embedded SQL catalogue (common/sql, generated from
// sql/queries by cmake/embed_sql.cmake) and the splitting of query files into
// named statements. No database.

#include <regex>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "common/sql/statement.h"
#include "gtest/gtest.h"
#include "statements.h"

namespace campaignq {
namespace {

TEST(Statements, EveryNamedStatementIsNonEmptyAndUniquelyNamed) {
  const auto& all = sql::AllStatements();
  ASSERT_GE(all.size(), 20u) << "fewer named statements than sql/queries holds";
  std::set<std::string> names;
  const std::regex identifier("[A-Za-z][A-Za-z0-9]*");
  for (const auto& [name, text] : all) {
    EXPECT_TRUE(std::regex_match(name, identifier)) << "bad statement name '" << name << "'";
    EXPECT_TRUE(names.insert(name).second) << "duplicate statement name " << name;
    EXPECT_FALSE(text.empty()) << name << " has no SQL";
    EXPECT_FALSE(absl::EndsWith(text, ";")) << name << " ends with ';' (not preparable)";
    EXPECT_FALSE(absl::StrContains(text, "-- name:")) << name << " swallowed another header";
  }
}

TEST(Statements, EveryQueryFileContributesStatements) {
  ASSERT_FALSE(sql::QueryFiles().empty());
  for (const sql::SqlFile& file : sql::QueryFiles()) {
    EXPECT_FALSE(sql::SplitNamedStatements(file.text).empty())
        << file.file_name << " has no '-- name:' statements";
  }
}

TEST(Statements, GeneratedConstantsResolveToTheirText) {
  EXPECT_TRUE(absl::StrContains(sql::StatementText(sql::kApplicationInsertBatch),
                                "INSERT INTO applications"));
  EXPECT_TRUE(absl::StrContains(sql::StatementText(sql::kCampaignLock), "FOR NO KEY UPDATE"));
  EXPECT_TRUE(absl::StrContains(sql::StatementText(sql::kCampaignClaimSkipLocked), "SKIP LOCKED"));
  EXPECT_TRUE(absl::StrContains(sql::StatementText(sql::kCampaignLockNowait), "NOWAIT"));
  EXPECT_TRUE(absl::StrContains(sql::StatementText(sql::kMigrationLock), "pg_advisory_xact_lock"));
}

TEST(SplitNamedStatements, SplitsOnHeadersAndStripsSemicolons) {
  const std::string text =
      "-- File preamble, not a statement.\n"
      "\n"
      "-- name: First\n"
      "-- A comment that belongs to First.\n"
      "SELECT 1;\n"
      "\n"
      "-- name:   Second  \n"
      "SELECT $1\n"
      "FROM t;   \n"
      "-- name: Third\n"
      "UPDATE t SET a = ';'\n";
  const auto statements = sql::SplitNamedStatements(text);
  ASSERT_EQ(statements.size(), 3u);
  EXPECT_EQ(statements[0].first, "First");
  EXPECT_EQ(statements[0].second, "-- A comment that belongs to First.\nSELECT 1");
  EXPECT_EQ(statements[1].first, "Second");
  EXPECT_EQ(statements[1].second, "SELECT $1\nFROM t");
  EXPECT_EQ(statements[2].first, "Third");
  EXPECT_EQ(statements[2].second, "UPDATE t SET a = ';'");
}

TEST(SplitNamedStatements, TextWithoutHeadersHasNoStatements) {
  EXPECT_TRUE(sql::SplitNamedStatements("").empty());
  EXPECT_TRUE(sql::SplitNamedStatements("SELECT 1;\n-- just a comment\n").empty());
}

}  // namespace
}  // namespace campaignq
