#include "server/unparsable_request.h"

#include <grpcpp/grpcpp.h>

#include <string>

namespace campaignq::server {
namespace {

using Hook = grpc::experimental::InterceptionHookPoints;

class Interceptor : public grpc::experimental::Interceptor {
 public:
  explicit Interceptor(const char* method) : method_(method == nullptr ? "" : method) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(Hook::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      if (status.error_code() == grpc::StatusCode::INTERNAL && status.error_message().empty()) {
        methods->ModifySendStatus(
            grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                         "the request is not a valid message of " + method_ +
                             " (unparsable protobuf bytes, or a string field that is not UTF-8)"));
      }
    }
    methods->Proceed();
  }

 private:
  const std::string method_;
};

class Factory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new Interceptor(info->method());
  }
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
UnparsableRequestInterceptor() {
  return std::make_unique<Factory>();
}

}  // namespace campaignq::server
