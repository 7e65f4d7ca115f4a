#pragma once
// Verification of JSON Web Tokens (RFC 7519) signed with RS256 or ES256 by a
// configured public key, with OpenSSL directly (Debian 12's libjwt 1.10 has
// no key sets and one key per call; this is ~200 lines and rejects
// everything we do not expect).
//
// What a token must have to be accepted:
//   header  alg RS256 (RSA key) or ES256 (P-256 key); anything else,
//           "none" and HS* included, is refused
//   iss     equal to --jwt-issuer
//   aud     equal to --jwt-audience (or an array containing it)
//   exp     in the future (30 s of clock skew allowed); required
//   nbf     if present, not in the future (30 s of skew)
//   sub     the user id (1 to 128 characters); required
//   campaignq_role (or role when that is absent): admin, service, applicant
//           or observer; required. An applicant is bound to `sub`.
// Principal::name is "jwt:<sub>".
//
// No cache: `openssl speed` on the development machine verifies ~80,000
// RS256 (RSA 2048) and ~25,000 ES256 signatures per second and core, i.e.
// 12 us and 40 us, well below a database round trip.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/security/principal.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace campaignq::server::security {

inline constexpr absl::Duration kJwtClockSkew = absl::Seconds(30);

class JwtVerifier {
 public:
  // Reads every PEM public key ("BEGIN PUBLIC KEY": RSA or EC P-256) in
  // `pem_path`. INVALID_ARGUMENT naming the file when it cannot be read,
  // holds no key, or a key is neither RSA nor P-256; also when issuer or
  // audience is empty.
  static absl::StatusOr<JwtVerifier> Load(const std::string& pem_path, std::string issuer,
                                          std::string audience);
  // The same from PEM text (tests).
  static absl::StatusOr<JwtVerifier> FromPem(absl::string_view pem, std::string issuer,
                                             std::string audience);

  // The principal `token` (compact JWS) names, checked as described above
  // at time `now`. UNAUTHENTICATED with a short reason otherwise
  // ("malformed token", "unsupported alg", "bad signature", "expired",
  // "not yet valid", "wrong issuer", "wrong audience", ...).
  absl::StatusOr<Principal> Verify(absl::string_view token, absl::Time now) const;

  size_t key_count() const { return keys_.size(); }

 private:
  JwtVerifier() = default;

  std::vector<std::shared_ptr<EVP_PKEY>> keys_;
  std::string issuer_;
  std::string audience_;
};

}  // namespace campaignq::server::security
