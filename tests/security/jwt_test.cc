// JWT verification (server/security/jwt.h) with keys made by `openssl` at
// test time.

#include "server/security/jwt.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "security/crypto_fixture.h"
#include "support/temp_dir.h"

namespace campaignq::server::security {
namespace {

using campaignq::testing::KeyPair;
using campaignq::testing::MakeKeyPair;
using campaignq::testing::ReadFile;
using campaignq::testing::ScopedTestDir;
using campaignq::testing::SignJwt;
using campaignq::testing::UnsignedJwt;

constexpr char kIssuer[] = "https://auth.example";
constexpr char kAudience[] = "campaignq";

class JwtTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ScopedTestDir("jwt");
    rsa_ = new KeyPair(MakeKeyPair(dir_->path(), "rsa", true));
    ec_ = new KeyPair(MakeKeyPair(dir_->path(), "ec", false));
    other_ = new KeyPair(MakeKeyPair(dir_->path(), "other", true));
  }
  static void TearDownTestSuite() {
    delete rsa_;
    delete ec_;
    delete other_;
    delete dir_;
  }

  // A verifier trusting the RSA and the EC key (not `other`).
  JwtVerifier Verifier() {
    absl::StatusOr<JwtVerifier> verifier = JwtVerifier::FromPem(
        ReadFile(rsa_->public_key) + ReadFile(ec_->public_key), kIssuer, kAudience);
    EXPECT_TRUE(verifier.ok()) << verifier.status();
    EXPECT_EQ(verifier->key_count(), 2u);
    return *std::move(verifier);
  }

  static std::string Claims(const std::string& extra = "", int64_t exp_offset = 300,
                            const std::string& iss = kIssuer, const std::string& aud = kAudience,
                            const std::string& role = "applicant") {
    return absl::StrCat(R"({"iss":")", iss, R"(","aud":")", aud, R"(","sub":"alice",)",
                        R"("campaignq_role":")", role, R"(","exp":)",
                        absl::ToUnixSeconds(absl::Now()) + exp_offset, extra, "}");
  }

  void ExpectRejected(const std::string& token, const std::string& reason) {
    absl::StatusOr<Principal> principal = Verifier().Verify(token, absl::Now());
    ASSERT_FALSE(principal.ok()) << token;
    EXPECT_EQ(principal.status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_NE(principal.status().message().find(reason), std::string::npos) << principal.status();
  }

  static ScopedTestDir* dir_;
  static KeyPair* rsa_;
  static KeyPair* ec_;
  static KeyPair* other_;
};

ScopedTestDir* JwtTest::dir_ = nullptr;
KeyPair* JwtTest::rsa_ = nullptr;
KeyPair* JwtTest::ec_ = nullptr;
KeyPair* JwtTest::other_ = nullptr;

TEST_F(JwtTest, GoodRs256) {
  absl::StatusOr<Principal> principal =
      Verifier().Verify(SignJwt(rsa_->private_key, "RS256", Claims()), absl::Now());
  ASSERT_TRUE(principal.ok()) << principal.status();
  EXPECT_EQ(principal->role, Role::kApplicant);
  EXPECT_EQ(principal->user_id, "alice");
  EXPECT_EQ(principal->name, "jwt:alice");
}

TEST_F(JwtTest, GoodEs256) {
  absl::StatusOr<Principal> principal =
      Verifier().Verify(SignJwt(ec_->private_key, "ES256", Claims()), absl::Now());
  ASSERT_TRUE(principal.ok()) << principal.status();
  EXPECT_EQ(principal->user_id, "alice");
}

TEST_F(JwtTest, RoleClaimAndAudienceArray) {
  const std::string claims =
      absl::StrCat(R"({"iss":")", kIssuer, R"(","aud":["other","campaignq"],"sub":"svc",)",
                   R"("role":"service","exp":)", absl::ToUnixSeconds(absl::Now()) + 60, "}");
  absl::StatusOr<Principal> principal =
      Verifier().Verify(SignJwt(rsa_->private_key, "RS256", claims), absl::Now());
  ASSERT_TRUE(principal.ok()) << principal.status();
  EXPECT_EQ(principal->role, Role::kService);
  EXPECT_EQ(principal->user_id, "");  // only applicants are bound
}

TEST_F(JwtTest, Expired) {
  ExpectRejected(SignJwt(rsa_->private_key, "RS256", Claims("", -31)), "expired");
}

TEST_F(JwtTest, ExpiryWithinTheSkewIsAccepted) {
  EXPECT_TRUE(
      Verifier().Verify(SignJwt(rsa_->private_key, "RS256", Claims("", -10)), absl::Now()).ok());
}

TEST_F(JwtTest, NotBeforeInTheFuture) {
  const std::string nbf = absl::StrCat(R"(,"nbf":)", absl::ToUnixSeconds(absl::Now()) + 120);
  ExpectRejected(SignJwt(rsa_->private_key, "RS256", Claims(nbf)), "not yet valid");
  const std::string near = absl::StrCat(R"(,"nbf":)", absl::ToUnixSeconds(absl::Now()) + 10);
  EXPECT_TRUE(
      Verifier().Verify(SignJwt(rsa_->private_key, "RS256", Claims(near)), absl::Now()).ok());
}

TEST_F(JwtTest, WrongIssuerOrAudience) {
  ExpectRejected(SignJwt(rsa_->private_key, "RS256", Claims("", 300, "https://evil")),
                 "wrong issuer");
  ExpectRejected(SignJwt(rsa_->private_key, "RS256", Claims("", 300, kIssuer, "other")),
                 "wrong audience");
}

TEST_F(JwtTest, WrongKey) {
  ExpectRejected(SignJwt(other_->private_key, "RS256", Claims()), "bad signature");
}

TEST_F(JwtTest, AlgorithmMustMatchTheKey) {
  // An EC signature presented as RS256, and an RSA one as ES256.
  ExpectRejected(SignJwt(ec_->private_key, "RS256", Claims()), "bad signature");
  ExpectRejected(SignJwt(rsa_->private_key, "ES256", Claims()), "bad signature");
}

TEST_F(JwtTest, AlgNoneAndHmacAreRefused) {
  ExpectRejected(UnsignedJwt(Claims()), "");
  ExpectRejected(SignJwt(rsa_->private_key, "none", Claims()), "unsupported alg");
  ExpectRejected(SignJwt(rsa_->private_key, "HS256", Claims()), "unsupported alg");
}

TEST_F(JwtTest, TamperedClaimsFail) {
  const std::string token = SignJwt(rsa_->private_key, "RS256", Claims());
  const std::string admin =
      SignJwt(rsa_->private_key, "RS256", Claims("", 300, kIssuer, kAudience, "admin"));
  // alice's header and signature around admin's claims.
  const size_t first = token.find('.'), last = token.rfind('.');
  const size_t admin_first = admin.find('.'), admin_last = admin.rfind('.');
  const std::string forged = token.substr(0, first) +
                             admin.substr(admin_first, admin_last - admin_first) +
                             token.substr(last);
  ExpectRejected(forged, "bad signature");
}

TEST_F(JwtTest, MissingOrBadClaims) {
  const int64_t exp = absl::ToUnixSeconds(absl::Now()) + 60;
  ExpectRejected(SignJwt(rsa_->private_key, "RS256",
                         absl::StrCat(R"({"iss":")", kIssuer, R"(","aud":")", kAudience,
                                      R"(","campaignq_role":"admin","exp":)", exp, "}")),
                 "no sub");
  ExpectRejected(SignJwt(rsa_->private_key, "RS256",
                         absl::StrCat(R"({"iss":")", kIssuer, R"(","aud":")", kAudience,
                                      R"(","sub":"a","exp":)", exp, "}")),
                 "no campaignq_role");
  ExpectRejected(SignJwt(rsa_->private_key, "RS256",
                         absl::StrCat(R"({"iss":")", kIssuer, R"(","aud":")", kAudience,
                                      R"(","sub":"a","campaignq_role":"admin"})")),
                 "no exp");
  ExpectRejected(SignJwt(rsa_->private_key, "RS256", Claims("", 300, kIssuer, kAudience, "root")),
                 "unknown role");
}

TEST_F(JwtTest, Malformed) {
  ExpectRejected("", "malformed");
  ExpectRejected("a.b", "malformed");
  ExpectRejected("a.b.c.d", "malformed");
  ExpectRejected("!!!.???.###", "malformed");
  ExpectRejected(std::string(10000, 'a'), "too long");
}

TEST_F(JwtTest, KeyFilesAreChecked) {
  EXPECT_FALSE(JwtVerifier::FromPem("", kIssuer, kAudience).ok());
  EXPECT_FALSE(JwtVerifier::FromPem("-----BEGIN PUBLIC KEY-----\nxx\n-----END PUBLIC KEY-----\n",
                                    kIssuer, kAudience)
                   .ok());
  EXPECT_FALSE(JwtVerifier::FromPem(ReadFile(rsa_->public_key), "", kAudience).ok());
  absl::StatusOr<JwtVerifier> missing = JwtVerifier::Load("/nonexistent.pem", kIssuer, kAudience);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("/nonexistent.pem"), std::string::npos);
}

}  // namespace
}  // namespace campaignq::server::security
