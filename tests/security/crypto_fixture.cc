#include "security/crypto_fixture.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace campaignq::testing {

bool Openssl(const std::string& args) {
  const std::string command = absl::StrCat("openssl ", args, " >/dev/null 2>&1");
  const int code = std::system(command.c_str());
  EXPECT_EQ(code, 0) << command;
  return code == 0;
}

Ca MakeCa(const std::string& dir, const std::string& name) {
  Ca ca{absl::StrCat(dir, "/", name, ".pem"), absl::StrCat(dir, "/", name, ".key")};
  Openssl(absl::StrCat("req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1",
                       " -subj /CN=", name, " -keyout ", ca.key, " -out ", ca.cert,
                       " -addext basicConstraints=critical,CA:TRUE",
                       " -addext keyUsage=critical,keyCertSign,cRLSign"));
  return ca;
}

Cert MakeCert(const std::string& dir, const std::string& name, const std::string& cn,
              const Ca& ca) {
  Cert cert{absl::StrCat(dir, "/", name, ".pem"), absl::StrCat(dir, "/", name, ".key")};
  const std::string csr = absl::StrCat(dir, "/", name, ".csr");
  const std::string ext = absl::StrCat(dir, "/", name, ".ext");
  WriteFile(ext, "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  Openssl(absl::StrCat("req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=", cn,
                       " -keyout ", cert.key, " -out ", csr));
  Openssl(absl::StrCat("x509 -req -days 1 -set_serial ", std::rand(), " -in ", csr, " -CA ",
                       ca.cert, " -CAkey ", ca.key, " -extfile ", ext, " -out ", cert.cert));
  return cert;
}

KeyPair MakeKeyPair(const std::string& dir, const std::string& name, bool rsa) {
  KeyPair pair{absl::StrCat(dir, "/", name, ".key"), absl::StrCat(dir, "/", name, ".pub")};
  Openssl(absl::StrCat("genpkey -out ", pair.private_key,
                       rsa ? " -algorithm RSA -pkeyopt rsa_keygen_bits:2048"
                           : " -algorithm EC -pkeyopt ec_paramgen_curve:P-256"));
  Openssl(absl::StrCat("pkey -in ", pair.private_key, " -pubout -out ", pair.public_key));
  return pair;
}

namespace {

std::string Segment(const std::string& bytes) { return absl::WebSafeBase64Escape(bytes); }

std::string Sign(const std::string& private_key_path, const std::string& input) {
  std::FILE* file = std::fopen(private_key_path.c_str(), "r");
  EXPECT_NE(file, nullptr) << private_key_path;
  if (file == nullptr) return "";
  EVP_PKEY* key = PEM_read_PrivateKey(file, nullptr, nullptr, nullptr);
  std::fclose(file);
  EXPECT_NE(key, nullptr);
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  size_t length = 0;
  std::string signature;
  if (EVP_DigestSignInit(context, nullptr, EVP_sha256(), nullptr, key) == 1 &&
      EVP_DigestSign(context, nullptr, &length,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1) {
    signature.resize(length);
    EVP_DigestSign(context, reinterpret_cast<unsigned char*>(signature.data()), &length,
                   reinterpret_cast<const unsigned char*>(input.data()), input.size());
    signature.resize(length);
  }
  EVP_MD_CTX_free(context);
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC) {
    // DER ECDSA-Sig-Value -> r || s, 32 bytes each (RFC 7518 section 3.4).
    const unsigned char* der = reinterpret_cast<const unsigned char*>(signature.data());
    ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(signature.size()));
    std::string raw(64, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(sig), reinterpret_cast<unsigned char*>(raw.data()), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(sig), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
    ECDSA_SIG_free(sig);
    signature = raw;
  }
  EVP_PKEY_free(key);
  return signature;
}

}  // namespace

std::string SignJwt(const std::string& private_key_path, const std::string& alg,
                    const std::string& claims_json) {
  const std::string input = absl::StrCat(
      Segment(absl::StrCat(R"({"alg":")", alg, R"(","typ":"JWT"})")), ".", Segment(claims_json));
  return absl::StrCat(input, ".", Segment(Sign(private_key_path, input)));
}

std::string UnsignedJwt(const std::string& claims_json) {
  return absl::StrCat(Segment(R"({"alg":"none","typ":"JWT"})"), ".", Segment(claims_json), ".");
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  ASSERT_TRUE(out.good()) << path;
}

}  // namespace campaignq::testing
