#pragma once
// The tokens file (--auth-tokens-file): who may call with which bearer
// token, and which verified client certificate (mTLS) is whom.
//
// One entry per line, fields separated by spaces or tabs; '#' starts a
// comment, blank lines are ignored:
//
//   <credential> <role> [<user id>] <name>
//
//   credential  the SHA-256 of the bearer token as 64 hex digits (the token
//               itself is never stored: `printf %s "$TOKEN" | sha256sum`),
//               or cert-cn:<common name> for a client certificate whose
//               subject CN is that name (verified against --tls-client-ca)
//   role        admin, service, applicant or observer
//   user id     the bound user id: required for applicant, refused for the
//               other roles (they are not bound to one user)
//   name        who it is, for logs and per-principal limits; unique
//
// e.g.
//   3f1c...e9a0  service    checkout-backend
//   77aa...0b12  applicant  user-42  user-42-mobile
//   cert-cn:ops-console  admin  ops-console

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/security/principal.h"

namespace campaignq::server::security {

inline constexpr char kCertCnPrefix[] = "cert-cn:";

struct TokenEntry {
  std::array<unsigned char, 32> sha256;
  Principal principal;
};

struct CertEntry {
  std::string common_name;
  Principal principal;
};

struct TokenFile {
  std::vector<TokenEntry> tokens;
  std::vector<CertEntry> certs;
};

// Parses a tokens file's text. INVALID_ARGUMENT "<source>:<line>: <what is
// wrong>" on the first bad line (wrong field count, hash not 64 hex digits,
// unknown role, user id missing or not allowed, duplicate hash or name).
absl::StatusOr<TokenFile> ParseTokenFile(absl::string_view text, absl::string_view source);

// Reads and parses the file at `path`: NOT_FOUND/PERMISSION_DENIED when it
// cannot be read (naming the path), else ParseTokenFile's result.
absl::StatusOr<TokenFile> LoadTokenFile(const std::string& path);

// The principal whose hash equals SHA-256(token). The comparison visits
// every entry in constant time per entry (CRYPTO_memcmp), so the timing
// says nothing about how much of a guess matched.
std::optional<Principal> FindToken(const TokenFile& file, absl::string_view token);

// The principal mapped to a client certificate's subject CN.
std::optional<Principal> FindCertificate(const TokenFile& file, absl::string_view common_name);

// Lowercase hex SHA-256 of `data` (what the file stores for a token).
std::string Sha256Hex(absl::string_view data);

}  // namespace campaignq::server::security
