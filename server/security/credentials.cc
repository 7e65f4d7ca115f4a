#include "server/security/credentials.h"

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>

#include "absl/strings/str_cat.h"

namespace campaignq::server::security {
namespace {

absl::Status Bad(const std::string& path, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", what));
}

// Parses the PEM files the way the handshake will.
absl::Status CheckPemFiles(const SecurityOptions& options) {
  std::FILE* cert_file = std::fopen(options.tls_cert.c_str(), "r");
  if (cert_file == nullptr) return Bad(options.tls_cert, "cannot be read");
  X509* cert = PEM_read_X509(cert_file, nullptr, nullptr, nullptr);
  std::fclose(cert_file);
  if (cert == nullptr) {
    ERR_clear_error();
    return Bad(options.tls_cert, "no PEM certificate in it");
  }
  std::FILE* key_file = std::fopen(options.tls_key.c_str(), "r");
  if (key_file == nullptr) {
    X509_free(cert);
    return Bad(options.tls_key, "cannot be read");
  }
  EVP_PKEY* key = PEM_read_PrivateKey(key_file, nullptr, nullptr, nullptr);
  std::fclose(key_file);
  const bool matches = key != nullptr && X509_check_private_key(cert, key) == 1;
  EVP_PKEY_free(key);
  X509_free(cert);
  ERR_clear_error();
  if (key == nullptr) return Bad(options.tls_key, "no unencrypted PEM private key in it");
  if (!matches) return Bad(options.tls_key, "does not match the certificate of --tls-cert");
  if (!options.tls_client_ca.empty()) {
    std::FILE* ca_file = std::fopen(options.tls_client_ca.c_str(), "r");
    if (ca_file == nullptr) return Bad(options.tls_client_ca, "cannot be read");
    X509* ca = PEM_read_X509(ca_file, nullptr, nullptr, nullptr);
    std::fclose(ca_file);
    X509_free(ca);
    ERR_clear_error();
    if (ca == nullptr) return Bad(options.tls_client_ca, "no PEM certificate in it");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const SecurityOptions& options) {
  if (!options.tls()) return grpc::InsecureServerCredentials();
  if (absl::Status checked = CheckPemFiles(options); !checked.ok()) return checked;
  const unsigned int refresh = static_cast<unsigned int>(kCertificateRefresh.count());
  std::shared_ptr<grpc::experimental::CertificateProviderInterface> provider;
  if (options.tls_client_ca.empty()) {
    provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
        options.tls_key, options.tls_cert, refresh);
  } else {
    provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
        options.tls_key, options.tls_cert, options.tls_client_ca, refresh);
  }
  grpc::experimental::TlsServerCredentialsOptions tls(provider);
  tls.watch_identity_key_cert_pairs();
  if (options.tls_client_ca.empty()) {
    tls.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  } else {
    tls.watch_root_certs();
    tls.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  return grpc::experimental::TlsServerCredentials(tls);
}

}  // namespace campaignq::server::security
