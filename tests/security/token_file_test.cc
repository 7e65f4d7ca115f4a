// The tokens file's parser (server/security/token_file.h).

#include "server/security/token_file.h"

#include "gtest/gtest.h"

namespace campaignq::server::security {
namespace {

const std::string kAdminHash = Sha256Hex("admin-secret");
const std::string kAliceHash = Sha256Hex("alice-secret");

TEST(TokenFileTest, ParsesEntriesCommentsAndBlankLines) {
  const std::string text = "# campaignq tokens\n\n" + kAdminHash + "  admin  ops   # the team\n" +
                           kAliceHash + "\tapplicant\talice\talice-phone\r\n" +
                           "cert-cn:backend service backend-cert\n";
  absl::StatusOr<TokenFile> file = ParseTokenFile(text, "tokens");
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_EQ(file->tokens.size(), 2u);
  ASSERT_EQ(file->certs.size(), 1u);

  std::optional<Principal> admin = FindToken(*file, "admin-secret");
  ASSERT_TRUE(admin.has_value());
  EXPECT_EQ(admin->name, "ops");
  EXPECT_EQ(admin->role, Role::kAdmin);
  EXPECT_EQ(admin->user_id, "");
  EXPECT_FALSE(admin->anonymous);

  std::optional<Principal> alice = FindToken(*file, "alice-secret");
  ASSERT_TRUE(alice.has_value());
  EXPECT_EQ(alice->role, Role::kApplicant);
  EXPECT_EQ(alice->user_id, "alice");
  EXPECT_EQ(alice->name, "alice-phone");

  EXPECT_FALSE(FindToken(*file, "admin-secreT").has_value());
  EXPECT_FALSE(FindToken(*file, "").has_value());
  // The file holds hashes: the hash itself is no token.
  EXPECT_FALSE(FindToken(*file, kAdminHash).has_value());

  std::optional<Principal> backend = FindCertificate(*file, "backend");
  ASSERT_TRUE(backend.has_value());
  EXPECT_EQ(backend->role, Role::kService);
  EXPECT_FALSE(FindCertificate(*file, "Backend").has_value());
}

TEST(TokenFileTest, UppercaseHexIsTheSameHash) {
  std::string upper = kAdminHash;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  absl::StatusOr<TokenFile> file = ParseTokenFile(upper + " admin ops\n", "tokens");
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_TRUE(FindToken(*file, "admin-secret").has_value());
}

TEST(TokenFileTest, EmptyFileHasNoEntries) {
  absl::StatusOr<TokenFile> file = ParseTokenFile("# nothing yet\n", "tokens");
  ASSERT_TRUE(file.ok());
  EXPECT_TRUE(file->tokens.empty());
  EXPECT_FALSE(FindToken(*file, "x").has_value());
}

void ExpectBadLine(const std::string& text, const std::string& where, const std::string& what) {
  absl::StatusOr<TokenFile> file = ParseTokenFile(text, "/etc/campaignq/tokens");
  ASSERT_FALSE(file.ok()) << text;
  EXPECT_EQ(file.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(file.status().message().find("/etc/campaignq/tokens:" + where + ": "),
            std::string::npos)
      << file.status();
  EXPECT_NE(file.status().message().find(what), std::string::npos) << file.status();
}

TEST(TokenFileTest, BadLinesAreNamed) {
  ExpectBadLine("\n" + kAdminHash + " admin\n", "2", "got 2 fields");
  ExpectBadLine(kAdminHash + " admin a b c\n", "1", "got 5 fields");
  ExpectBadLine("abc admin ops\n", "1", "64 hex digits");
  ExpectBadLine(std::string(63, 'a') + "g admin ops\n", "1", "64 hex digits");
  ExpectBadLine(kAdminHash + " root ops\n", "1", "unknown role 'root'");
  ExpectBadLine(kAdminHash + " applicant alice-phone\n", "1", "needs a bound user id");
  ExpectBadLine(kAdminHash + " service alice backend\n", "1", "only applicants");
  ExpectBadLine(kAdminHash + " admin ops\n" + kAliceHash + " observer ops\n", "2",
                "name 'ops' is used twice");
  ExpectBadLine(kAdminHash + " admin ops\n" + kAdminHash + " observer dash\n", "2", "listed twice");
  ExpectBadLine("cert-cn: admin ops\n", "1", "empty common name");
  ExpectBadLine(kAliceHash + " applicant " + std::string(129, 'u') + " p\n", "1",
                "longer than 128");
}

TEST(TokenFileTest, ErrorsNeverEchoACredential) {
  absl::StatusOr<TokenFile> file = ParseTokenFile("not-a-hash-but-maybe-a-token admin ops\n", "t");
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().message().find("not-a-hash-but-maybe-a-token"), std::string::npos);
}

TEST(TokenFileTest, MissingFileIsNamed) {
  absl::StatusOr<TokenFile> file = LoadTokenFile("/nonexistent/campaignq-tokens");
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.status().message().find("/nonexistent/campaignq-tokens"), std::string::npos);
}

TEST(TokenFileTest, Sha256HexMatchesTheStandardVector) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace campaignq::server::security
