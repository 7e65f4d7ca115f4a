// Unit tier: building libpq connection strings from URLs and options
// (common/db/connect.h), and the tests' own URL helper
// (support/test_postgres.h). No database.

#include <string>

#include "absl/strings/match.h"
#include "common/db/connect.h"
#include "gtest/gtest.h"
#include "support/test_postgres.h"

namespace campaignq {
namespace {

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
  EXPECT_EQ(UrlWithDatabase("postgres://h/db?sslmode=disable", "x"),
            "postgres://h/x?sslmode=disable");
  EXPECT_EQ(UrlWithDatabase("postgresql://h?sslmode=disable", "x"),
            "postgresql://h/x?sslmode=disable");
  EXPECT_EQ(UrlWithDatabase("host=h dbname=a", "x"), "host=h dbname=a dbname=x");
}

}  // namespace
}  // namespace campaignq
