// Unit tier: the text forms of array parameters (common/db/transaction.h).
// No database: store_test's GroupCommitAnyPrintableUserIdRoundTrips sends
// them to PostgreSQL.

#include <string>
#include <vector>

#include "common/db/transaction.h"
#include "gtest/gtest.h"

namespace campaignq {
namespace {

TEST(TextArrayLiteral, QuotesEveryElementAndEscapesQuotesAndBackslashes) {
  EXPECT_EQ(db::TextArrayLiteral({}), "{}");
  EXPECT_EQ(db::TextArrayLiteral({"plain"}), R"({"plain"})");
  EXPECT_EQ(db::TextArrayLiteral({R"(a"b)", R"(c\d)", R"(\")"}), R"({"a\"b","c\\d","\\\""})");
  // Separators, braces, spaces and the word NULL are data inside quotes.
  EXPECT_EQ(db::TextArrayLiteral({"e,f", "{g}", " h i ", "NULL", "x}y{"}),
            R"({"e,f","{g}"," h i ","NULL","x}y{"})");
  EXPECT_EQ(db::TextArrayLiteral({"日本", "é"}), R"({"日本","é"})");
}

TEST(BigintArrayLiteral, JoinsWithCommas) {
  EXPECT_EQ(db::BigintArrayLiteral({}), "{}");
  EXPECT_EQ(db::BigintArrayLiteral({1, -2, 9223372036854775807}), "{1,-2,9223372036854775807}");
}

}  // namespace
}  // namespace campaignq
