// Authentication from call metadata (server/security/authorizer.h), without
// a server: the anonymous mode, the bearer header's forms, tokens-file and
// JWT principals, and Reload keeping the old entries when the file breaks.

#include "server/security/authorizer.h"

#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "security/crypto_fixture.h"
#include "support/temp_dir.h"

namespace campaignq::server::security {
namespace {

using campaignq::testing::ScopedTestDir;
using campaignq::testing::WriteFile;

// Metadata as gRPC hands it to the server: string_refs into `storage`.
class Metadata {
 public:
  Metadata& Add(const std::string& key, const std::string& value) {
    storage_.emplace_back(key, value);
    return *this;
  }
  const std::multimap<grpc::string_ref, grpc::string_ref>& Map() {
    map_.clear();
    for (const auto& [key, value] : storage_) map_.emplace(key, value);
    return map_;
  }

 private:
  std::vector<std::pair<std::string, std::string>> storage_;
  std::multimap<grpc::string_ref, grpc::string_ref> map_;
};

TEST(AuthorizerTest, NothingConfiguredIsTheAnonymousAdminWhateverIsSent) {
  absl::StatusOr<std::unique_ptr<Authorizer>> authorizer = Authorizer::Create(SecurityOptions());
  ASSERT_TRUE(authorizer.ok()) << authorizer.status();
  EXPECT_TRUE((*authorizer)->anonymous());
  Metadata none, junk;
  junk.Add("authorization", "Bearer whatever");
  for (Metadata* metadata : {&none, &junk}) {
    absl::StatusOr<Principal> principal = (*authorizer)->Authenticate(metadata->Map(), nullptr);
    ASSERT_TRUE(principal.ok());
    EXPECT_TRUE(principal->anonymous);
    EXPECT_EQ(principal->role, Role::kAdmin);
  }
}

TEST(AuthorizerTest, BearerTokensFromTheFile) {
  ScopedTestDir dir("authorizer");
  SecurityOptions options;
  options.auth_tokens_file = dir.File("tokens");
  WriteFile(options.auth_tokens_file,
            absl::StrCat(Sha256Hex("s3cret"), " applicant alice alice-phone\n"));
  absl::StatusOr<std::unique_ptr<Authorizer>> authorizer = Authorizer::Create(options);
  ASSERT_TRUE(authorizer.ok()) << authorizer.status();
  EXPECT_FALSE((*authorizer)->anonymous());

  for (const char* header : {"Bearer s3cret", "bearer s3cret", "BEARER  s3cret "}) {
    Metadata metadata;
    metadata.Add("authorization", header);
    absl::StatusOr<Principal> principal = (*authorizer)->Authenticate(metadata.Map(), nullptr);
    ASSERT_TRUE(principal.ok()) << header << ": " << principal.status();
    EXPECT_EQ(principal->name, "alice-phone");
    EXPECT_EQ(principal->user_id, "alice");
  }
  Metadata missing, basic, bare, unknown, twice;
  basic.Add("authorization", "Basic czNjcmV0");
  bare.Add("authorization", "s3cret");
  unknown.Add("authorization", "Bearer s3cret2");
  twice.Add("authorization", "Bearer s3cret").Add("authorization", "Bearer s3cret");
  for (Metadata* metadata : {&missing, &basic, &bare, &unknown, &twice}) {
    EXPECT_EQ((*authorizer)->Authenticate(metadata->Map(), nullptr).status().code(),
              absl::StatusCode::kUnauthenticated);
  }
}

TEST(AuthorizerTest, ReloadSwapsTheFileAndKeepsItWhenBroken) {
  ScopedTestDir dir("authorizer-reload");
  SecurityOptions options;
  options.auth_tokens_file = dir.File("tokens");
  WriteFile(options.auth_tokens_file, absl::StrCat(Sha256Hex("one"), " admin one\n"));
  absl::StatusOr<std::unique_ptr<Authorizer>> authorizer = Authorizer::Create(options);
  ASSERT_TRUE(authorizer.ok()) << authorizer.status();
  Metadata one, two;
  one.Add("authorization", "Bearer one");
  two.Add("authorization", "Bearer two");

  WriteFile(options.auth_tokens_file, "broken\n");
  const absl::Status broken = (*authorizer)->Reload();
  EXPECT_EQ(broken.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(broken.message().find(options.auth_tokens_file + ":1:"), std::string::npos);
  EXPECT_TRUE((*authorizer)->Authenticate(one.Map(), nullptr).ok());

  WriteFile(options.auth_tokens_file, absl::StrCat(Sha256Hex("two"), " observer two\n"));
  ASSERT_TRUE((*authorizer)->Reload().ok());
  EXPECT_FALSE((*authorizer)->Authenticate(one.Map(), nullptr).ok());
  absl::StatusOr<Principal> principal = (*authorizer)->Authenticate(two.Map(), nullptr);
  ASSERT_TRUE(principal.ok());
  EXPECT_EQ(principal->role, Role::kObserver);
}

TEST(AuthorizerTest, BadFilesFailCreate) {
  SecurityOptions options;
  options.auth_tokens_file = "/nonexistent/tokens";
  absl::StatusOr<std::unique_ptr<Authorizer>> authorizer = Authorizer::Create(options);
  ASSERT_FALSE(authorizer.ok());
  EXPECT_EQ(authorizer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(authorizer.status().message().find("/nonexistent/tokens"), std::string::npos);
}

TEST(AuthorizerTest, JwtsWhenConfigured) {
  ScopedTestDir dir("authorizer-jwt");
  const campaignq::testing::KeyPair key = campaignq::testing::MakeKeyPair(dir.path(), "k", false);
  SecurityOptions options;
  options.jwt_public_keys = key.public_key;
  options.jwt_issuer = "iss";
  options.jwt_audience = "aud";
  absl::StatusOr<std::unique_ptr<Authorizer>> authorizer = Authorizer::Create(options);
  ASSERT_TRUE(authorizer.ok()) << authorizer.status();
  const std::string token = campaignq::testing::SignJwt(
      key.private_key, "ES256",
      absl::StrCat(R"({"iss":"iss","aud":"aud","sub":"svc","campaignq_role":"service","exp":)",
                   absl::ToUnixSeconds(absl::Now()) + 60, "}"));
  Metadata metadata;
  metadata.Add("authorization", "Bearer " + token);
  absl::StatusOr<Principal> principal = (*authorizer)->Authenticate(metadata.Map(), nullptr);
  ASSERT_TRUE(principal.ok()) << principal.status();
  EXPECT_EQ(principal->name, "jwt:svc");
  EXPECT_EQ(principal->role, Role::kService);
}

}  // namespace
}  // namespace campaignq::server::security
