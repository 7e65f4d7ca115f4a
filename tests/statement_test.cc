// Unit tier: the embedded SQL catalogue, input validation and small pure
// helpers of common/. No database.

#include <regex>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "common/db/connect.h"
#include "common/db/migrator.h"
#include "common/db/pg_status.h"
#include "common/sql/statement.h"
#include "common/store/validation.h"
#include "gtest/gtest.h"
#include "statements.h"
#include "support/test_postgres.h"

namespace campaignq {
namespace {

using ::testing::TestWithParam;

// --- sql catalogue -------------------------------------------------------------

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
  EXPECT_TRUE(absl::StrContains(sql::StatementText(sql::kApplicationInsertBatch), "INSERT INTO applications"));
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

TEST(Migrations, EmbeddedInStrictVersionOrderWithChecksums) {
  const auto& migrations = db::EmbeddedMigrations();
  ASSERT_EQ(migrations.size(), sql::MigrationFiles().size());
  ASSERT_FALSE(migrations.empty());
  EXPECT_EQ(migrations.front().version, 1);
  for (size_t i = 0; i < migrations.size(); ++i) {
    EXPECT_FALSE(migrations[i].name.empty());
    EXPECT_FALSE(migrations[i].sql.empty());
    EXPECT_EQ(migrations[i].checksum.size(), 16u);
    if (i > 0) EXPECT_LT(migrations[i - 1].version, migrations[i].version);
  }
}

TEST(Migrations, ParseMigrateMode) {
  EXPECT_EQ(*db::ParseMigrateMode("auto"), db::MigrateMode::kAuto);
  EXPECT_EQ(*db::ParseMigrateMode("verify"), db::MigrateMode::kVerify);
  EXPECT_EQ(*db::ParseMigrateMode("off"), db::MigrateMode::kOff);
  for (const char* bad : {"", "AUTO", "on", "auto "}) {
    EXPECT_EQ(db::ParseMigrateMode(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

// --- validation ----------------------------------------------------------------

TEST(ValidateUserId, AcceptsOneTo128PrintableCharacters) {
  EXPECT_TRUE(store::ValidateUserId("a").ok());
  EXPECT_TRUE(store::ValidateUserId("user-42@example.com").ok());
  EXPECT_TRUE(store::ValidateUserId("with space and ~!").ok());
  EXPECT_TRUE(store::ValidateUserId(std::string(128, 'x')).ok());
  // 128 code points of two bytes each: the limit counts characters.
  std::string accented;
  for (int i = 0; i < 128; ++i) accented += "\xc3\xa9";  // é
  EXPECT_TRUE(store::ValidateUserId(accented).ok());
  EXPECT_TRUE(store::ValidateUserId("\xe6\x97\xa5\xe6\x9c\xac").ok());  // 日本
}

TEST(ValidateUserId, RejectsEmptyTooLongAndControlCharacters) {
  const std::string bad[] = {
      "",
      std::string(129, 'x'),
      "a\nb",
      "tab\there",
      std::string("nul\0x", 5),
      "\x01",
      "bell\x07",
      "del\x7f",
      "\xff\xfe",       // not UTF-8
      "\xc3",           // truncated sequence
      "\xe6\x97",       // truncated sequence
      "a\x80",          // stray continuation byte
  };
  for (const std::string& user_id : bad) {
    const absl::Status status = store::ValidateUserId(user_id);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << "user_id of length " << user_id.size();
    EXPECT_TRUE(absl::StrContains(status.message(), "user_id")) << status;
  }
}

TEST(ValidateCampaignName, LengthAndPrintable) {
  EXPECT_TRUE(store::ValidateCampaignName("Spring launch").ok());
  EXPECT_TRUE(store::ValidateCampaignName(std::string(200, 'n')).ok());
  EXPECT_EQ(store::ValidateCampaignName("").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store::ValidateCampaignName(std::string(201, 'n')).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store::ValidateCampaignName("line\nbreak").code(), absl::StatusCode::kInvalidArgument);
}

TEST(ValidateMaxParticipants, UnsetOrPositive) {
  EXPECT_TRUE(store::ValidateMaxParticipants(std::nullopt).ok());
  EXPECT_TRUE(store::ValidateMaxParticipants(1).ok());
  EXPECT_TRUE(store::ValidateMaxParticipants(2147483647).ok());
  EXPECT_EQ(store::ValidateMaxParticipants(0).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store::ValidateMaxParticipants(-1).code(), absl::StatusCode::kInvalidArgument);
}

TEST(ValidateId, Positive) {
  EXPECT_TRUE(store::ValidateId(1, "campaign_id").ok());
  EXPECT_EQ(store::ValidateId(0, "campaign_id").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(store::ValidateId(-5, "campaign_id").message(), "campaign_id"));
}

TEST(PageSize, DefaultRangeAndErrors) {
  EXPECT_EQ(*store::ResolvePageSize(0), store::kDefaultPageSize);
  EXPECT_EQ(*store::ResolvePageSize(1), 1);
  EXPECT_EQ(*store::ResolvePageSize(1000), 1000);
  EXPECT_EQ(store::ResolvePageSize(1001).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store::ResolvePageSize(-1).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(PageToken, RoundTrips) {
  EXPECT_EQ(*store::DecodePageToken(""), 0);
  for (int64_t id : {int64_t{1}, int64_t{42}, int64_t{1} << 40, int64_t{9223372036854775807}}) {
    const std::string token = store::EncodePageToken(id);
    EXPECT_FALSE(token.empty());
    auto decoded = store::DecodePageToken(token);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, id);
  }
}

TEST(PageToken, GarbageIsRejected) {
  const std::string garbage[] = {
      "garbage", "!!!!", "42", "YWZ0ZXI6",  // "after:" with no id
      store::EncodePageToken(0), store::EncodePageToken(-3),
      "after:7",  // the raw text, not the encoded token
  };
  for (const std::string& token : garbage) {
    EXPECT_EQ(store::DecodePageToken(token).status().code(), absl::StatusCode::kInvalidArgument)
        << "token '" << token << "'";
  }
}

TEST(ApplicationStatusWords, RoundTrip) {
  for (auto status : {v1::APPLICATION_STATUS_PENDING, v1::APPLICATION_STATUS_APPROVED,
                      v1::APPLICATION_STATUS_WAITLISTED, v1::APPLICATION_STATUS_REJECTED,
                      v1::APPLICATION_STATUS_CANCELLED, v1::APPLICATION_STATUS_FAILED}) {
    const std::string word = store::ApplicationStatusWord(status);
    EXPECT_FALSE(word.empty());
    EXPECT_EQ(store::ApplicationStatusFromWord(word), status) << word;
  }
  EXPECT_STREQ(store::ApplicationStatusWord(v1::APPLICATION_STATUS_UNSPECIFIED), "");
  EXPECT_EQ(store::ApplicationStatusFromWord("approvedd"), v1::APPLICATION_STATUS_UNSPECIFIED);
}

// --- connection helpers -----------------------------------------------------

TEST(ConnectionString, AddsLivenessAndSessionSettingsOnlyWhereMissing) {
  db::ConnectOptions options;
  options.application_name = "probe";
  options.idle_in_transaction_timeout_ms = 1234;
  const auto uri = db::ConnectionString("postgresql://u:secret@h:5432/d", options);
  ASSERT_TRUE(uri.ok()) << uri.status();
  EXPECT_TRUE(absl::StrContains(*uri, "host='h'")) << *uri;
  EXPECT_TRUE(absl::StrContains(*uri, "keepalives='1'")) << *uri;
  EXPECT_TRUE(absl::StrContains(*uri, "tcp_user_timeout='10000'")) << *uri;
  EXPECT_TRUE(absl::StrContains(*uri, "application_name='probe'")) << *uri;
  // In the startup packet, so that libpqxx's silent reconnect keeps it.
  EXPECT_TRUE(absl::StrContains(*uri, "options='-c idle_in_transaction_session_timeout=1234'"))
      << *uri;

  const auto own = db::ConnectionString(
      "postgresql://h/d?connect_timeout=9&application_name=mine&options=-c%20work_mem%3D8MB",
      options);
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_TRUE(absl::StrContains(*own, "connect_timeout='9'")) << *own;
  EXPECT_TRUE(absl::StrContains(*own, "application_name='mine'")) << *own;
  EXPECT_TRUE(absl::StrContains(
      *own, "options='-c work_mem=8MB -c idle_in_transaction_session_timeout=1234'"))
      << *own;

  const auto keywords = db::ConnectionString("host=h1,h2 port=1,2 dbname='it\\'s'", options);
  ASSERT_TRUE(keywords.ok()) << keywords.status();
  EXPECT_TRUE(absl::StrContains(*keywords, "host='h1,h2'")) << *keywords;
  EXPECT_TRUE(absl::StrContains(*keywords, "dbname='it\\'s'")) << *keywords;
}

TEST(ConnectionString, PoolerSafeSendsNoStartupOptions) {
  db::ConnectOptions options;
  options.pooler_safe = true;
  const auto conninfo = db::ConnectionString("postgresql://h/d", options);
  ASSERT_TRUE(conninfo.ok()) << conninfo.status();
  EXPECT_FALSE(absl::StrContains(*conninfo, "options=")) << *conninfo;
}

TEST(ConnectionString, MalformedUrlIsInvalidArgumentWithoutTheUrl) {
  const auto conninfo = db::ConnectionString("postgresql://u:hunter2@h/d?no_such_setting=1", {});
  EXPECT_EQ(conninfo.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(absl::StrContains(conninfo.status().message(), "hunter2")) << conninfo.status();
}

TEST(UrlWithDatabase, ReplacesTheDatabase) {
  using testing::UrlWithDatabase;
  EXPECT_EQ(UrlWithDatabase("postgresql://u@h:1/postgres", "x"), "postgresql://u@h:1/x");
  EXPECT_EQ(UrlWithDatabase("postgresql://u@h:1", "x"), "postgresql://u@h:1/x");
  EXPECT_EQ(UrlWithDatabase("postgres://h/db?sslmode=disable", "x"), "postgres://h/x?sslmode=disable");
  EXPECT_EQ(UrlWithDatabase("postgresql://h?sslmode=disable", "x"), "postgresql://h/x?sslmode=disable");
  EXPECT_EQ(UrlWithDatabase("host=h dbname=a", "x"), "host=h dbname=a dbname=x");
}

}  // namespace
}  // namespace campaignq
