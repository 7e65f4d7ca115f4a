#include "server/security/authorizer.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"

namespace campaignq::server::security {
namespace {

constexpr char kComponent[] = "security";
constexpr char kBearer[] = "bearer ";

absl::string_view View(const grpc::string_ref& ref) { return {ref.data(), ref.size()}; }

}  // namespace

absl::StatusOr<std::unique_ptr<Authorizer>> Authorizer::Create(const SecurityOptions& options) {
  std::unique_ptr<Authorizer> authorizer(new Authorizer(options));
  authorizer->anonymous_ = !options.auth_configured();
  // Empty files are valid too: a CA-only setup maps no certificate yet.
  authorizer->tokens_ = std::make_shared<const TokenFile>();
  if (absl::Status loaded = authorizer->Reload(); !loaded.ok()) {
    return absl::InvalidArgumentError(loaded.message());
  }
  return authorizer;
}

absl::Status Authorizer::Reload() {
  std::shared_ptr<const TokenFile> tokens;
  std::shared_ptr<const JwtVerifier> jwt;
  if (!options_.auth_tokens_file.empty()) {
    absl::StatusOr<TokenFile> file = LoadTokenFile(options_.auth_tokens_file);
    if (!file.ok()) return file.status();
    tokens = std::make_shared<const TokenFile>(*std::move(file));
  }
  if (!options_.jwt_public_keys.empty()) {
    absl::StatusOr<JwtVerifier> verifier =
        JwtVerifier::Load(options_.jwt_public_keys, options_.jwt_issuer, options_.jwt_audience);
    if (!verifier.ok()) return verifier.status();
    jwt = std::make_shared<const JwtVerifier>(*std::move(verifier));
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (tokens != nullptr) tokens_ = std::move(tokens);
  if (jwt != nullptr) jwt_ = std::move(jwt);
  return absl::OkStatus();
}

absl::StatusOr<Principal> Authorizer::Authenticate(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
    const grpc::AuthContext* auth_context) const {
  // Nothing to check a credential against: whatever the caller sends (a
  // developer's exported CAMPAIGNQ_TOKEN, say) it is the anonymous admin.
  if (anonymous_) return AnonymousAdmin();
  std::shared_ptr<const TokenFile> tokens;
  std::shared_ptr<const JwtVerifier> jwt;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    tokens = tokens_;
    jwt = jwt_;
  }
  const auto [first, last] = metadata.equal_range("authorization");
  if (first != last) {
    if (std::next(first) != last) {
      return absl::UnauthenticatedError("more than one authorization header");
    }
    const absl::string_view header = View(first->second);
    if (header.size() <= sizeof(kBearer) - 1 ||
        !absl::EqualsIgnoreCase(header.substr(0, sizeof(kBearer) - 1), kBearer)) {
      return absl::UnauthenticatedError("the authorization header must be 'Bearer <token>'");
    }
    const absl::string_view token = absl::StripAsciiWhitespace(header.substr(sizeof(kBearer) - 1));
    if (std::optional<Principal> principal = FindToken(*tokens, token)) return *principal;
    if (jwt != nullptr && absl::StrContains(token, '.')) return jwt->Verify(token, absl::Now());
    return absl::UnauthenticatedError("unknown bearer token");
  }
  if (auth_context != nullptr && auth_context->IsPeerAuthenticated()) {
    for (const grpc::string_ref& cn : auth_context->FindPropertyValues("x509_common_name")) {
      if (std::optional<Principal> principal = FindCertificate(*tokens, View(cn))) {
        return *principal;
      }
    }
    return absl::UnauthenticatedError(
        "the client certificate is not mapped to a principal, and no bearer token was sent");
  }
  return absl::UnauthenticatedError("missing bearer token (authorization: Bearer <token>)");
}

absl::StatusOr<Principal> Authorizer::Authorize(const grpc::ServerContextBase& context,
                                                Method method) const {
  const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  absl::StatusOr<Principal> principal = Authenticate(context.client_metadata(), auth.get());
  if (!principal.ok()) {
    LogDebug(kComponent, "unauthenticated call method=", MethodName(method),
             " peer=", context.peer(), ": ", principal.status().message());
    return principal.status();
  }
  if (absl::Status allowed = CheckMethodAllowed(*principal, method); !allowed.ok()) {
    LogInfo(kComponent, "permission denied method=", MethodName(method),
            " principal=", principal->name, " role=", RoleName(principal->role));
    return allowed;
  }
  return principal;
}

}  // namespace campaignq::server::security
