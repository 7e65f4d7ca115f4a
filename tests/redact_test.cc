// Unit tier: database URLs made safe to print (common/db/redact.h), and the
// parse errors of connect.h that must never echo a password. No database.

#include "common/db/redact.h"

#include <string>

#include "absl/strings/match.h"
#include "common/db/connect.h"
#include "gtest/gtest.h"

namespace campaignq::db {
namespace {

TEST(RedactedUrl, UriUserInfoPassword) {
  EXPECT_EQ(RedactedUrl("postgresql://app:s3cret@db.example:5432/campaignq"),
            "postgresql://app:***@db.example:5432/campaignq");
  EXPECT_EQ(RedactedUrl("postgres://app:s3cret@db/campaignq"), "postgres://app:***@db/campaignq");
  // Nothing secret: unchanged.
  EXPECT_EQ(RedactedUrl("postgresql://app@db:5432/campaignq"),
            "postgresql://app@db:5432/campaignq");
  EXPECT_EQ(RedactedUrl("postgresql://db:5432/campaignq?sslmode=require"),
            "postgresql://db:5432/campaignq?sslmode=require");
  EXPECT_EQ(RedactedUrl("postgresql://"), "postgresql://");
}

TEST(RedactedUrl, PercentEncodedAndRawSpecialCharactersInThePassword) {
  EXPECT_EQ(RedactedUrl("postgresql://app:p%40ss%2Fw%3Ard@db/campaignq"),
            "postgresql://app:***@db/campaignq");
  // Not valid URIs, but typed: a raw '@', '/', '?' or ':' in the password.
  EXPECT_EQ(RedactedUrl("postgresql://app:p@ss@db/campaignq"), "postgresql://app:***@db/campaignq");
  EXPECT_EQ(RedactedUrl("postgresql://app:p/ss@db/campaignq"), "postgresql://app:***@db/campaignq");
  EXPECT_EQ(RedactedUrl("postgresql://app:p?ss@db/campaignq"), "postgresql://app:***@db/campaignq");
  EXPECT_EQ(RedactedUrl("postgresql://app:p:ss@db/campaignq"), "postgresql://app:***@db/campaignq");
}

TEST(RedactedUrl, MultiHostUri) {
  EXPECT_EQ(RedactedUrl("postgresql://app:s3cret@h1:5432,h2:5433,[::1]:5434/campaignq"
                        "?target_session_attrs=read-write"),
            "postgresql://app:***@h1:5432,h2:5433,[::1]:5434/campaignq"
            "?target_session_attrs=read-write");
}

TEST(RedactedUrl, PasswordQueryParameters) {
  EXPECT_EQ(RedactedUrl("postgresql://app@db/campaignq?password=s3cret&sslmode=require"),
            "postgresql://app@db/campaignq?password=***&sslmode=require");
  EXPECT_EQ(RedactedUrl("postgresql://db/campaignq?sslmode=require&sslpassword=k3y"),
            "postgresql://db/campaignq?sslmode=require&sslpassword=***");
  // A percent-encoded key is still the password.
  EXPECT_EQ(RedactedUrl("postgresql://db/c?pass%77ord=s3cret"), "postgresql://db/c?pass%77ord=***");
  EXPECT_EQ(RedactedUrl("postgresql://u:a@db/c?password=b"),
            "postgresql://u:***@db/c?password=***");
}

TEST(RedactedUrl, KeyValueForms) {
  EXPECT_EQ(RedactedUrl("host=db user=app password=s3cret dbname=campaignq"),
            "host=db user=app password=*** dbname=campaignq");
  EXPECT_EQ(RedactedUrl("host=db password = 'it\\'s secret' port=5432"),
            "host=db password = *** port=5432");
  EXPECT_EQ(RedactedUrl("password=s\\ ecret host=h1,h2 sslpassword='k'"),
            "password=*** host=h1,h2 sslpassword=***");
  EXPECT_EQ(RedactedUrl("host=db"), "host=db");
  EXPECT_EQ(RedactedUrl(""), "");
  // libpq expands a dbname that is a URI or a connection string itself.
  EXPECT_EQ(RedactedUrl("dbname='postgresql://app:s3cret@db/c' connect_timeout=3"),
            "dbname='postgresql://app:***@db/c' connect_timeout=3");
  EXPECT_EQ(RedactedUrl("dbname='host=db password=s3cret'"), "dbname='host=db password=***'");
}

TEST(RedactedUrl, UnparseableKeyValueStringIsHiddenWhole) {
  EXPECT_EQ(RedactedUrl("host=db password='s3cret"), "(unparseable connection string)");
  EXPECT_EQ(RedactedUrl("host=db s3cret"), "(unparseable connection string)");
}

TEST(RedactedUrl, NeverContainsTheSecret) {
  for (const char* url : {
           "postgresql://u:hunter22@h/d",
           "postgresql://u:hunter22@h1,h2/d?password=hunter22",
           "postgresql://u:hunter22@/d?host=/run/postgresql",
           "postgres://:hunter22@h/d",
           "host=h password=hunter22",
           "password=hunter22",
           "password='hunter22",
           "host=h hunter22",
       }) {
    EXPECT_FALSE(absl::StrContains(RedactedUrl(url), "hunter22")) << url;
  }
}

TEST(WithoutSecrets, HidesTheSecretRawAndDecodedKeepsTheRest) {
  EXPECT_EQ(WithoutSecrets("FATAL: password authentication failed for user \"app\" (p@ss)",
                           "postgresql://app:p%40ss@db/c"),
            "FATAL: password authentication failed for user \"app\" (***)");
  EXPECT_EQ(WithoutSecrets("connection to server at \"db\" failed", "host=db password=x"),
            "connection to server at \"db\" failed");
}

// libpq's own parse errors echo the token or the whole URI.
TEST(ParseConnectionUrl, ErrorsNameTheProblemWithoutTheUrl) {
  for (const char* url : {
           "postgresql://u:hunter22@h/d?no_such_setting=1",
           "postgresql://u:hunter%zz22@h/d",
           "postgresql://u:hunter22@[::1/d",
           "postgresql://u:hunter22@h/d?password",
           "postgresql://u:hunter22@h/d?password=a=hunter22",
           "host=h password hunter22",
           "host=h password='hunter22",
           "host=h hunter22=1",
       }) {
    const auto parsed = ParseConnectionUrl(url);
    ASSERT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << url;
    EXPECT_FALSE(absl::StrContains(parsed.status().message(), "hunter")) << parsed.status();
    EXPECT_TRUE(absl::StartsWith(parsed.status().message(), "bad database URL: "))
        << parsed.status();
  }
}

TEST(RedactedParseError, KeepsSeparatorsHidesTokens) {
  EXPECT_EQ(RedactedParseError("missing \"=\" after \"hunter22\" in connection info string",
                               "host=h hunter22"),
            "missing \"=\" after \"...\" in connection info string");
}

}  // namespace
}  // namespace campaignq::db
