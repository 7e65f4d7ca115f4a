#include "server/security/reflection_guard.h"

#include <cstring>

#include "absl/status/statusor.h"

namespace campaignq::server::security {
namespace {

constexpr char kReflectionPrefix[] = "/grpc.reflection.";

class GuardInterceptor final : public grpc::experimental::Interceptor {
 public:
  GuardInterceptor(const Authorizer* authorizer, grpc::experimental::ServerRpcInfo* info)
      : authorizer_(authorizer), info_(info) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      const std::shared_ptr<const grpc::AuthContext> auth = info_->server_context()->auth_context();
      absl::StatusOr<Principal> principal =
          authorizer_->Authenticate(*methods->GetRecvInitialMetadata(), auth.get());
      rejected_ = !principal.ok();
    }
    if (rejected_ &&
        methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_MESSAGE)) {
      // An invalid buffer is not sent (CallOpSendMessage skips it).
      methods->GetSerializedSendMessage()->Clear();
    }
    if (rejected_ && methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      methods->ModifySendStatus(
          grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "server reflection needs a valid token"));
    }
    methods->Proceed();
  }

 private:
  const Authorizer* authorizer_;
  grpc::experimental::ServerRpcInfo* info_;
  bool rejected_ = false;
};

class GuardFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit GuardFactory(const Authorizer* authorizer) : authorizer_(authorizer) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    if (authorizer_->anonymous()) return nullptr;
    if (std::strncmp(info->method(), kReflectionPrefix, sizeof(kReflectionPrefix) - 1) != 0) {
      return nullptr;
    }
    return new GuardInterceptor(authorizer_, info);
  }

 private:
  const Authorizer* authorizer_;
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> ReflectionGuard(
    const Authorizer* authorizer) {
  return std::make_unique<GuardFactory>(authorizer);
}

}  // namespace campaignq::server::security
