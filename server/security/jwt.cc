#include "server/security/jwt.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace campaignq::server::security {
namespace {

// Claims are parsed with nlohmann-json, header-only and so instrumented
// with the rest of the code: protobuf's Struct (a Map filled by the
// uninstrumented library) crashed TSan builds on lookup.
using Json = nlohmann::json;

absl::Status Unauthenticated(absl::string_view reason) {
  return absl::UnauthenticatedError(absl::StrCat("invalid JWT: ", reason));
}

bool IsP256(EVP_PKEY* key) {
  char group[64] = {0};
  size_t length = 0;
  return EVP_PKEY_get_group_name(key, group, sizeof(group), &length) == 1 &&
         std::string(group, length) == SN_X9_62_prime256v1;
}

// Base64url without padding (RFC 7515 section 2) into `out`.
bool DecodeSegment(absl::string_view segment, std::string* out) {
  if (segment.empty() || segment.find('=') != absl::string_view::npos) return false;
  return absl::WebSafeBase64Unescape(segment, out);
}

bool ParseJsonObject(const std::string& json, Json* object) {
  *object = Json::parse(json, /*cb=*/nullptr, /*allow_exceptions=*/false);
  return object->is_object();
}

const Json* Field(const Json& object, const char* name) {
  auto it = object.find(name);
  return it == object.end() ? nullptr : &*it;
}

bool IsString(const Json* value) { return value != nullptr && value->is_string(); }

// ES256 signatures are r || s (32 bytes each); OpenSSL verifies DER.
bool EcdsaRawToDer(const std::string& raw, std::string* der) {
  if (raw.size() != 64) return false;
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), 32, nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + 32, 32, nullptr);
  if (sig == nullptr || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return false;
  }
  unsigned char* out = nullptr;
  const int length = i2d_ECDSA_SIG(sig, &out);
  ECDSA_SIG_free(sig);  // frees r and s
  if (length <= 0) return false;
  der->assign(reinterpret_cast<char*>(out), static_cast<size_t>(length));
  OPENSSL_free(out);
  return true;
}

bool VerifySha256(EVP_PKEY* key, absl::string_view signed_part, const std::string& signature) {
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  if (context == nullptr) return false;
  const bool ok =
      EVP_DigestVerifyInit(context, nullptr, EVP_sha256(), nullptr, key) == 1 &&
      EVP_DigestVerify(context, reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), reinterpret_cast<const unsigned char*>(signed_part.data()),
                       signed_part.size()) == 1;
  EVP_MD_CTX_free(context);
  ERR_clear_error();
  return ok;
}

// A NumericDate claim (seconds since the epoch); false when absent or not
// a finite number.
bool NumericDate(const Json& claims, const char* name, absl::Time* time) {
  const Json* value = Field(claims, name);
  if (value == nullptr || !value->is_number() || !std::isfinite(value->get<double>())) {
    return false;
  }
  // A signed token may still say 1e75: converting that to int64_t is
  // undefined (found by fuzz/jwt_fuzz), so far beyond the int64 range the
  // date is the infinite future or past.
  const double seconds = value->get<double>();
  if (seconds >= 9.2e18) {
    *time = absl::InfiniteFuture();
  } else if (seconds <= -9.2e18) {
    *time = absl::InfinitePast();
  } else {
    *time = absl::FromUnixSeconds(static_cast<int64_t>(seconds));
  }
  return true;
}

bool AudienceMatches(const Json* aud, const std::string& audience) {
  if (IsString(aud)) return aud->get_ref<const std::string&>() == audience;
  if (aud == nullptr || !aud->is_array()) return false;
  for (const Json& item : *aud) {
    if (item.is_string() && item.get_ref<const std::string&>() == audience) return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<JwtVerifier> JwtVerifier::FromPem(absl::string_view pem, std::string issuer,
                                                 std::string audience) {
  if (issuer.empty() || audience.empty()) {
    return absl::InvalidArgumentError("--jwt-public-keys needs --jwt-issuer and --jwt-audience");
  }
  JwtVerifier verifier;
  verifier.issuer_ = std::move(issuer);
  verifier.audience_ = std::move(audience);
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return absl::InternalError("out of memory");
  while (EVP_PKEY* key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr)) {
    std::shared_ptr<EVP_PKEY> owned(key, EVP_PKEY_free);
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA && !IsP256(key)) {
      BIO_free(bio);
      return absl::InvalidArgumentError(
          absl::StrCat("key ", verifier.keys_.size() + 1, " is neither RSA nor EC P-256"));
    }
    verifier.keys_.push_back(std::move(owned));
  }
  BIO_free(bio);
  ERR_clear_error();  // the read that ended the loop
  if (verifier.keys_.empty()) {
    return absl::InvalidArgumentError("no PEM public key (BEGIN PUBLIC KEY) found");
  }
  return verifier;
}

absl::StatusOr<JwtVerifier> JwtVerifier::Load(const std::string& pem_path, std::string issuer,
                                              std::string audience) {
  std::ifstream in(pem_path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read ", pem_path));
  std::ostringstream text;
  text << in.rdbuf();
  absl::StatusOr<JwtVerifier> verifier =
      FromPem(text.str(), std::move(issuer), std::move(audience));
  if (!verifier.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--jwt-public-keys ", pem_path, ": ", verifier.status().message()));
  }
  return verifier;
}

absl::StatusOr<Principal> JwtVerifier::Verify(absl::string_view token, absl::Time now) const {
  if (token.size() > 8192) return Unauthenticated("too long");
  std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3) return Unauthenticated("malformed token");
  std::string header_json, claims_json, signature;
  if (!DecodeSegment(parts[0], &header_json) || !DecodeSegment(parts[1], &claims_json) ||
      !DecodeSegment(parts[2], &signature)) {
    return Unauthenticated("malformed token");
  }
  Json header, claims;
  if (!ParseJsonObject(header_json, &header) || !ParseJsonObject(claims_json, &claims)) {
    return Unauthenticated("malformed token");
  }
  const Json* alg = Field(header, "alg");
  const std::string alg_name = IsString(alg) ? alg->get<std::string>() : "";
  const bool rs256 = alg_name == "RS256";
  if (!rs256 && alg_name != "ES256") return Unauthenticated("unsupported alg");
  if (!rs256 && !EcdsaRawToDer(std::string(signature), &signature)) {
    return Unauthenticated("bad signature");
  }

  const absl::string_view signed_part(parts[0].data(), parts[0].size() + 1 + parts[1].size());
  bool verified = false;
  for (const std::shared_ptr<EVP_PKEY>& key : keys_) {
    // The key's type decides the algorithm: an RSA key never verifies an
    // ES256 token and the reverse (no algorithm confusion).
    const bool rsa_key = EVP_PKEY_get_base_id(key.get()) == EVP_PKEY_RSA;
    if (rsa_key != rs256) continue;
    if (VerifySha256(key.get(), signed_part, signature)) {
      verified = true;
      break;
    }
  }
  if (!verified) return Unauthenticated("bad signature");

  const Json* iss = Field(claims, "iss");
  if (!IsString(iss) || iss->get_ref<const std::string&>() != issuer_) {
    return Unauthenticated("wrong issuer");
  }
  if (!AudienceMatches(Field(claims, "aud"), audience_)) return Unauthenticated("wrong audience");
  absl::Time expiry;
  if (!NumericDate(claims, "exp", &expiry)) return Unauthenticated("no exp");
  if (now >= expiry + kJwtClockSkew) return Unauthenticated("expired");
  absl::Time not_before;
  if (Field(claims, "nbf") != nullptr) {
    if (!NumericDate(claims, "nbf", &not_before)) return Unauthenticated("bad nbf");
    if (now + kJwtClockSkew < not_before) return Unauthenticated("not yet valid");
  }
  const Json* sub_value = Field(claims, "sub");
  if (!IsString(sub_value)) return Unauthenticated("no sub");
  const std::string& sub = sub_value->get_ref<const std::string&>();
  if (sub.empty() || sub.size() > 128) return Unauthenticated("no sub");
  const Json* role = Field(claims, "campaignq_role");
  if (role == nullptr) role = Field(claims, "role");
  if (!IsString(role)) return Unauthenticated("no campaignq_role");
  absl::StatusOr<Role> parsed_role = ParseRole(role->get<std::string>());
  if (!parsed_role.ok()) return Unauthenticated("unknown role");

  Principal principal;
  principal.name = absl::StrCat("jwt:", sub);
  principal.role = *parsed_role;
  if (principal.role == Role::kApplicant) principal.user_id = sub;
  return principal;
}

}  // namespace campaignq::server::security
