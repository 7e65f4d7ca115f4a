#pragma once
// Throwaway keys, certificates and JWTs for the security tests, made at
// test time with the `openssl` command (keys, CA, certificates) and
// OpenSSL's library (JWT signatures). Nothing secret is checked in.

#include <string>

namespace campaignq::testing {

// Runs `openssl <args>` through the shell; fails the test (and returns
// false) when it exits non-zero.
bool Openssl(const std::string& args);

// A CA in `dir`: <name>.pem and <name>.key.
struct Ca {
  std::string cert;
  std::string key;
};
Ca MakeCa(const std::string& dir, const std::string& name);

// A P-256 key and a certificate for subject CN=`cn`, signed by `ca`, with
// SANs DNS:localhost and IP:127.0.0.1: <name>.pem, <name>.key in `dir`.
struct Cert {
  std::string cert;
  std::string key;
};
Cert MakeCert(const std::string& dir, const std::string& name, const std::string& cn, const Ca& ca);

// A JWT signing key pair in `dir`: <name>.key (private, PEM) and
// <name>.pub (public, PEM). `rsa`: RSA 2048 for RS256; else P-256 for ES256.
struct KeyPair {
  std::string private_key;
  std::string public_key;
};
KeyPair MakeKeyPair(const std::string& dir, const std::string& name, bool rsa);

// base64url(header_json).base64url(claims_json).base64url(signature), the
// signature made with the private key at `private_key_path` (RS256 for an
// RSA key, ES256 as r||s for an EC key). `alg` is written into the header
// as given, so tests can lie about it.
std::string SignJwt(const std::string& private_key_path, const std::string& alg,
                    const std::string& claims_json);

// An unsigned token: {"alg":"none"} with an empty signature.
std::string UnsignedJwt(const std::string& claims_json);

// The whole text of a file ("" when unreadable).
std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& text);

}  // namespace campaignq::testing
