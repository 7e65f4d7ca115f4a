// JWT verification (server/security/jwt.h) with a fixed ES256 test key.
// Mode byte 0: the rest is a token as a caller would send it (almost all
// fail before the signature). Otherwise the rest is split into a header
// and a claims JSON text that this target signs with the test key, so
// that the fuzzer reaches the claim checks behind the signature. Accepted
// tokens must name a principal as jwt.h documents.

#include <fuzzer/FuzzedDataProvider.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "server/security/jwt.h"

namespace {

namespace security = campaignq::server::security;

// A throwaway P-256 key made for this target; it protects nothing.
constexpr char kTestPrivateKey[] = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgsX1516wKWMecJJLy
/3ADe1PUoc2FYGYsn2PfQVBT2yqhRANCAASC/1WjyLb+73wOdhKFY4Cce6wIMLrK
Wgr/3CxMIcEu1waYxUrILHp1gxHujbOMeE+DKXtEP3atowTvGlZZcUif
-----END PRIVATE KEY-----
)";
constexpr char kTestPublicKey[] = R"(-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEgv9Vo8i2/u98DnYShWOAnHusCDC6
yloK/9wsTCHBLtcGmMVKyCx6dYMR7o2zjHhPgyl7RD92raME7xpWWXFInw==
-----END PUBLIC KEY-----
)";
// The seeds' exp/nbf are around this time (2023-11-14T22:13:20Z).
const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);

void Require(bool holds) {
  if (!holds) __builtin_trap();
}

const security::JwtVerifier& Verifier() {
  static const security::JwtVerifier* verifier = [] {
    absl::StatusOr<security::JwtVerifier> loaded =
        security::JwtVerifier::FromPem(kTestPublicKey, "fuzz-issuer", "fuzz-audience");
    Require(loaded.ok());
    return new security::JwtVerifier(*std::move(loaded));
  }();
  return *verifier;
}

EVP_PKEY* PrivateKey() {
  static EVP_PKEY* key = [] {
    BIO* bio = BIO_new_mem_buf(kTestPrivateKey, -1);
    EVP_PKEY* loaded = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    Require(loaded != nullptr);
    return loaded;
  }();
  return key;
}

// The JWS ES256 signature of `signed_part`: r and s, 32 bytes each.
std::string Es256Sign(const std::string& signed_part) {
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  size_t length = 0;
  std::string der;
  if (EVP_DigestSignInit(context, nullptr, EVP_sha256(), nullptr, PrivateKey()) == 1 &&
      EVP_DigestSign(context, nullptr, &length,
                     reinterpret_cast<const unsigned char*>(signed_part.data()),
                     signed_part.size()) == 1) {
    der.resize(length);
    if (EVP_DigestSign(context, reinterpret_cast<unsigned char*>(der.data()), &length,
                       reinterpret_cast<const unsigned char*>(signed_part.data()),
                       signed_part.size()) != 1) {
      length = 0;
    }
    der.resize(length);
  }
  EVP_MD_CTX_free(context);
  const unsigned char* cursor = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &cursor, static_cast<long>(der.size()));
  Require(sig != nullptr);
  unsigned char raw[64];
  Require(BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, 32) == 32 &&
          BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + 32, 32) == 32);
  ECDSA_SIG_free(sig);
  return std::string(reinterpret_cast<char*>(raw), sizeof raw);
}

void Check(const std::string& token) {
  const absl::StatusOr<security::Principal> principal = Verifier().Verify(token, kNow);
  if (!principal.ok()) {
    Require(principal.status().code() == absl::StatusCode::kUnauthenticated);
    return;
  }
  Require(absl::StartsWith(principal->name, "jwt:") && principal->name.size() > 4);
  Require((principal->role == security::Role::kApplicant) == !principal->user_id.empty());
  Require(!principal->anonymous);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider input(data, size);
  if (input.ConsumeIntegralInRange<int>(0, 1) == 0) {
    Check(input.ConsumeRemainingBytesAsString());
    return 0;
  }
  const std::string header = input.ConsumeRandomLengthString(512);
  const std::string claims = input.ConsumeRemainingBytesAsString();
  const std::string signed_part =
      absl::WebSafeBase64Escape(header) + "." + absl::WebSafeBase64Escape(claims);
  Check(signed_part + "." + absl::WebSafeBase64Escape(Es256Sign(signed_part)));
  return 0;
}
