// The tokens file parser (server/security/token_file.h) over arbitrary
// text. When it accepts a file, every entry it returns is consistent with
// the format: applicants have a user id and nobody else does, names are
// unique, and each certificate CN finds its own entry.

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "server/security/token_file.h"

namespace {

void Require(bool holds) {
  if (!holds) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace security = campaignq::server::security;
  const std::string text(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<security::TokenFile> file = security::ParseTokenFile(text, "fuzz");
  if (!file.ok()) {
    Require(file.status().code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  std::set<std::string> names;
  auto check = [&](const security::Principal& principal) {
    Require(!principal.name.empty());
    Require(names.insert(principal.name).second);
    Require((principal.role == security::Role::kApplicant) == !principal.user_id.empty());
    Require(!principal.anonymous);
  };
  for (const security::TokenEntry& entry : file->tokens) check(entry.principal);
  for (const security::CertEntry& entry : file->certs) {
    check(entry.principal);
    const auto found = security::FindCertificate(*file, entry.common_name);
    Require(found.has_value() && found->name == entry.principal.name);
  }
  // The input as a bearer token: found only if its hash is in the file.
  (void)security::FindToken(*file, text);
  Require(security::Sha256Hex(text).size() == 64);
  return 0;
}
