// The authorization table (server/security/authorization.h) cell by cell,
// against a table written out here independently, and the secure-by-default
// rule (security_options.h).

#include "server/security/authorization.h"

#include <map>

#include "gtest/gtest.h"
#include "server/security/security_options.h"

namespace campaignq::server::security {
namespace {

Principal Of(Role role, std::string user_id = "") {
  Principal principal;
  principal.name = std::string(RoleName(role));
  principal.role = role;
  principal.user_id = std::move(user_id);
  return principal;
}

TEST(AuthorizationTest, EveryCellAsDocumented) {
  // Columns: admin, service, applicant, observer. A: all, O: own user, -: denied.
  const std::map<Method, std::string> expected = {
      {Method::kCreateCampaign, "A---"},
      {Method::kGetCampaign, "AAAA"},
      {Method::kListCampaigns, "AAAA"},
      {Method::kCloseCampaign, "A---"},
      {Method::kApply, "AAO-"},
      {Method::kGetApplication, "AAO-"},
      {Method::kListApplications, "AAO-"},
      {Method::kCancelApplication, "AAO-"},
      {Method::kWatchApplication, "AAO-"},
      {Method::kGetQueueStats, "AA-A"},
      {Method::kPauseCampaign, "A---"},
      {Method::kResumeCampaign, "A---"},
      {Method::kDeleteCampaign, "A---"},
      {Method::kRetryApplication, "A---"},
      {Method::kRetryFailedApplications, "A---"},
      {Method::kApplyBatch, "AA--"},
      {Method::kConfirmApplication, "AAO-"},
      {Method::kReleaseApplication, "AAO-"},
  };
  const Role roles[] = {Role::kAdmin, Role::kService, Role::kApplicant, Role::kObserver};
  ASSERT_EQ(expected.size(), std::size(kAllMethods));
  for (Method method : kAllMethods) {
    for (int i = 0; i < 4; ++i) {
      const char want = expected.at(method)[i];
      const Scope scope = ScopeOf(roles[i], method);
      const char got = scope == Scope::kAll ? 'A' : scope == Scope::kOwnUser ? 'O' : '-';
      EXPECT_EQ(got, want) << MethodName(method) << " for " << RoleName(roles[i]);
      const absl::Status allowed = CheckMethodAllowed(Of(roles[i], "u"), method);
      if (want == '-') {
        EXPECT_EQ(allowed.code(), absl::StatusCode::kPermissionDenied);
        EXPECT_NE(allowed.message().find(MethodName(method)), std::string::npos);
      } else {
        EXPECT_TRUE(allowed.ok()) << allowed;
      }
    }
  }
}

TEST(AuthorizationTest, MethodNamesAreTheRpcNames) {
  EXPECT_EQ(MethodName(Method::kCreateCampaign), "CreateCampaign");
  EXPECT_EQ(MethodName(Method::kListApplications), "ListApplications");
  EXPECT_EQ(MethodName(Method::kGetQueueStats), "GetQueueStats");
}

TEST(AuthorizationTest, ApplicantsActOnlyForTheirOwnUser) {
  EXPECT_TRUE(MayActForUser(Of(Role::kAdmin), "anyone"));
  EXPECT_TRUE(MayActForUser(Of(Role::kService), "anyone"));
  EXPECT_TRUE(MayActForUser(Of(Role::kApplicant, "alice"), "alice"));
  EXPECT_FALSE(MayActForUser(Of(Role::kApplicant, "alice"), "bob"));
  EXPECT_FALSE(MayActForUser(Of(Role::kApplicant, "alice"), "Alice"));
  EXPECT_FALSE(MayActForUser(Of(Role::kApplicant, ""), ""));  // unbound: nobody
  EXPECT_FALSE(MayActForUser(Of(Role::kObserver), "anyone"));
  EXPECT_EQ(ForcedUserFilter(Of(Role::kApplicant, "alice")), "alice");
  EXPECT_EQ(ForcedUserFilter(Of(Role::kService)), "");
}

TEST(AuthorizationTest, RedactionByRole) {
  v1::Application application;
  application.set_user_id("alice");
  application.set_last_error("deterministic error text");
  for (Role role : {Role::kAdmin, Role::kService, Role::kApplicant, Role::kObserver}) {
    v1::Application copy = application;
    RedactApplication(Of(role, "alice"), &copy);
    EXPECT_EQ(copy.user_id().empty(), role == Role::kObserver) << RoleName(role);
    EXPECT_EQ(copy.last_error().empty(), role != Role::kAdmin) << RoleName(role);
  }
}

TEST(AuthorizationTest, RolesRoundTrip) {
  for (Role role : {Role::kAdmin, Role::kService, Role::kApplicant, Role::kObserver}) {
    absl::StatusOr<Role> parsed = ParseRole(RoleName(role));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, role);
  }
  EXPECT_FALSE(ParseRole("Admin").ok());
  EXPECT_FALSE(ParseRole("").ok());
  EXPECT_TRUE(AnonymousAdmin().anonymous);
  EXPECT_EQ(AnonymousAdmin().role, Role::kAdmin);
}

TEST(SecurityOptionsTest, LoopbackAddresses) {
  EXPECT_TRUE(IsLoopbackListen("127.0.0.1:50051"));
  EXPECT_TRUE(IsLoopbackListen("127.0.0.2:0"));
  EXPECT_TRUE(IsLoopbackListen("localhost:50051"));
  EXPECT_TRUE(IsLoopbackListen("[::1]:50051"));
  EXPECT_FALSE(IsLoopbackListen("0.0.0.0:50051"));
  EXPECT_FALSE(IsLoopbackListen("[::]:50051"));
  EXPECT_FALSE(IsLoopbackListen("10.0.0.1:50051"));
  EXPECT_FALSE(IsLoopbackListen("127.example.com:50051"));
  EXPECT_FALSE(IsLoopbackListen("localhost.evil:50051"));
}

TEST(SecurityOptionsTest, SecureByDefault) {
  SecurityOptions none;
  EXPECT_TRUE(ValidateSecurityOptions(none, "127.0.0.1:50051").ok());
  const absl::Status refused = ValidateSecurityOptions(none, "0.0.0.0:50051");
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.message().find("--insecure-allow-unauthenticated"), std::string::npos);

  SecurityOptions insecure;
  insecure.insecure_allow_unauthenticated = true;
  EXPECT_TRUE(ValidateSecurityOptions(insecure, "0.0.0.0:50051").ok());

  SecurityOptions tokens;
  tokens.auth_tokens_file = "/etc/campaignq/tokens";
  EXPECT_TRUE(ValidateSecurityOptions(tokens, "0.0.0.0:50051").ok());
}

TEST(SecurityOptionsTest, FlagsThatGoTogether) {
  SecurityOptions half_tls;
  half_tls.tls_cert = "cert.pem";
  EXPECT_FALSE(ValidateSecurityOptions(half_tls, "127.0.0.1:1").ok());

  SecurityOptions ca_without_tls;
  ca_without_tls.tls_client_ca = "ca.pem";
  EXPECT_FALSE(ValidateSecurityOptions(ca_without_tls, "127.0.0.1:1").ok());

  SecurityOptions ca_without_mapping;
  ca_without_mapping.tls_cert = "cert.pem";
  ca_without_mapping.tls_key = "key.pem";
  ca_without_mapping.tls_client_ca = "ca.pem";
  EXPECT_FALSE(ValidateSecurityOptions(ca_without_mapping, "0.0.0.0:1").ok());
  ca_without_mapping.auth_tokens_file = "tokens";
  EXPECT_TRUE(ValidateSecurityOptions(ca_without_mapping, "0.0.0.0:1").ok());

  SecurityOptions half_jwt;
  half_jwt.jwt_public_keys = "keys.pem";
  half_jwt.jwt_issuer = "issuer";
  EXPECT_FALSE(ValidateSecurityOptions(half_jwt, "127.0.0.1:1").ok());
}

}  // namespace
}  // namespace campaignq::server::security
