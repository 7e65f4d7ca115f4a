#include "server/security/token_file.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace campaignq::server::security {
namespace {

std::array<unsigned char, 32> Sha256(absl::string_view data) {
  std::array<unsigned char, 32> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest.data());
  return digest;
}

bool ParseHexDigest(absl::string_view hex, std::array<unsigned char, 32>* digest) {
  if (hex.size() != 64) return false;
  for (char c : hex) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  const std::string bytes = absl::HexStringToBytes(hex);
  std::memcpy(digest->data(), bytes.data(), digest->size());
  return true;
}

}  // namespace

absl::StatusOr<TokenFile> ParseTokenFile(absl::string_view text, absl::string_view source) {
  TokenFile file;
  std::set<std::string> names;
  std::set<std::string> credentials;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    const auto bad = [&](absl::string_view what) {
      return absl::InvalidArgumentError(absl::StrCat(source, ":", line_number, ": ", what));
    };
    if (const size_t hash = line.find('#'); hash != absl::string_view::npos) {
      line = line.substr(0, hash);
    }
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
    if (fields.empty()) continue;
    if (fields.size() != 3 && fields.size() != 4) {
      return bad("expected '<sha256-hex | cert-cn:NAME> <role> [<user id>] <name>', got " +
                 std::to_string(fields.size()) + " fields");
    }
    absl::StatusOr<Role> role = ParseRole(fields[1]);
    if (!role.ok()) return bad(role.status().message());
    Principal principal;
    principal.role = *role;
    principal.name = std::string(fields.back());
    if (fields.size() == 4) principal.user_id = std::string(fields[2]);
    if (principal.role == Role::kApplicant && principal.user_id.empty()) {
      return bad("an applicant needs a bound user id: '<credential> applicant <user id> <name>'");
    }
    if (principal.role != Role::kApplicant && !principal.user_id.empty()) {
      return bad(
          absl::StrCat("only applicants are bound to a user id, not ", RoleName(principal.role)));
    }
    if (principal.user_id.size() > 128) return bad("user id longer than 128 characters");
    if (!names.insert(principal.name).second) {
      return bad(absl::StrCat("name '", principal.name, "' is used twice"));
    }
    const absl::string_view credential = fields[0];
    if (!credentials.insert(absl::AsciiStrToLower(credential)).second) {
      return bad("this credential is listed twice");
    }
    if (absl::StartsWith(credential, kCertCnPrefix)) {
      const absl::string_view cn = credential.substr(std::strlen(kCertCnPrefix));
      if (cn.empty()) return bad("empty common name after cert-cn:");
      file.certs.push_back(CertEntry{std::string(cn), std::move(principal)});
      continue;
    }
    TokenEntry entry;
    if (!ParseHexDigest(credential, &entry.sha256)) {
      return bad("the credential must be the token's SHA-256 as 64 hex digits, or cert-cn:NAME");
    }
    entry.principal = std::move(principal);
    file.tokens.push_back(std::move(entry));
  }
  return file;
}

absl::StatusOr<TokenFile> LoadTokenFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int error = errno;
    const std::string message =
        absl::StrCat("cannot read tokens file ", path, ": ", std::strerror(error));
    return error == EACCES ? absl::PermissionDeniedError(message) : absl::NotFoundError(message);
  }
  std::ostringstream text;
  text << in.rdbuf();
  return ParseTokenFile(text.str(), path);
}

std::optional<Principal> FindToken(const TokenFile& file, absl::string_view token) {
  const std::array<unsigned char, 32> digest = Sha256(token);
  const TokenEntry* found = nullptr;
  for (const TokenEntry& entry : file.tokens) {
    // No early exit: every entry costs the same.
    const bool equal = CRYPTO_memcmp(entry.sha256.data(), digest.data(), digest.size()) == 0;
    if (equal) found = &entry;
  }
  if (found == nullptr) return std::nullopt;
  return found->principal;
}

std::optional<Principal> FindCertificate(const TokenFile& file, absl::string_view common_name) {
  for (const CertEntry& entry : file.certs) {
    if (entry.common_name == common_name) return entry.principal;
  }
  return std::nullopt;
}

std::string Sha256Hex(absl::string_view data) {
  const std::array<unsigned char, 32> digest = Sha256(data);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

}  // namespace campaignq::server::security
