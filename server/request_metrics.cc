#include "server/request_metrics.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <string>

#include "absl/status/status.h"

namespace campaignq::server {
namespace {

struct RequestMetrics {
  explicit RequestMetrics(metrics::Registry* registry)
      : requests(registry->AddCounter("campaignq_requests_total",
                                      "gRPC calls answered, by method and status code",
                                      {"method", "code"})),
        duration(registry->AddHistogram("campaignq_request_duration_seconds",
                                        "gRPC call duration, by method", metrics::LatencyBuckets(),
                                        {"method"})),
        enqueued(registry
                     ->AddCounter("campaignq_applications_enqueued_total",
                                  "Applies stored durably (answered OK)")
                     .With({})) {}
  metrics::Family<metrics::Counter>& requests;
  metrics::Family<metrics::Histogram>& duration;
  metrics::Counter& enqueued;
};

// "/campaignq.v1.CampaignQueue/Apply" -> "Apply".
std::string ShortMethod(const char* full) {
  std::string method = full == nullptr ? "" : full;
  const size_t slash = method.rfind('/');
  return slash == std::string::npos ? method : method.substr(slash + 1);
}

class Interceptor : public grpc::experimental::Interceptor {
 public:
  Interceptor(RequestMetrics* metrics, grpc::experimental::ServerRpcInfo* info)
      : metrics_(metrics),
        method_(ShortMethod(info->method())),
        start_(std::chrono::steady_clock::now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      // gRPC and absl codes are the same numbers with the same names.
      metrics_->requests
          .With({method_,
                 absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code()))})
          .Increment();
      metrics_->duration.With({method_}).Observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
      if (status.ok() && method_ == "Apply") metrics_->enqueued.Increment();
    }
    methods->Proceed();
  }

 private:
  RequestMetrics* metrics_;
  const std::string method_;
  const std::chrono::steady_clock::time_point start_;
};

class Factory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit Factory(metrics::Registry* registry) : metrics_(registry) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new Interceptor(&metrics_, info);
  }

 private:
  RequestMetrics metrics_;
};

}  // namespace

std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
RequestMetricsInterceptors(metrics::Registry* registry) {
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> factories;
  factories.push_back(std::make_unique<Factory>(registry));
  return factories;
}

}  // namespace campaignq::server
