#include "server/request_metrics.h"

#include <grpcpp/grpcpp.h>

#include <array>
#include <chrono>
#include <string>

namespace campaignq::server {
namespace {

using RpcType = grpc::experimental::ServerRpcInfo::Type;
using Hook = grpc::experimental::InterceptionHookPoints;

struct RequestMetrics {
  explicit RequestMetrics(metrics::Registry* registry)
      : started(registry->AddCounter("grpc_server_started_total", "RPCs started on the server",
                                     {"grpc_service", "grpc_method", "grpc_type"})),
        handled(registry->AddCounter("grpc_server_handled_total",
                                     "RPCs completed on the server, regardless of success",
                                     {"grpc_service", "grpc_method", "grpc_type", "grpc_code"})),
        received(registry->AddCounter("grpc_server_msg_received_total",
                                      "messages received from clients",
                                      {"grpc_service", "grpc_method", "grpc_type"})),
        sent(registry->AddCounter("grpc_server_msg_sent_total", "messages sent to clients",
                                  {"grpc_service", "grpc_method", "grpc_type"})),
        unary_seconds(registry->AddHistogram(
            "grpc_server_handling_seconds",
            "unary RPC handling time, from the request's arrival to the status sent",
            metrics::LatencyBuckets(), {"grpc_service", "grpc_method", "grpc_type"})),
        stream_seconds(registry->AddHistogram(
            "grpc_server_stream_duration_seconds",
            "server-streaming RPC lifetime (how long the client watched)", metrics::WaitBuckets(),
            {"grpc_service", "grpc_method", "grpc_type"})),
        enqueued(registry
                     ->AddCounter("campaignq_applications_enqueued_total",
                                  "Applies stored durably (answered OK)")
                     .With({})) {}
  metrics::Family<metrics::Counter>& started;
  metrics::Family<metrics::Counter>& handled;
  metrics::Family<metrics::Counter>& received;
  metrics::Family<metrics::Counter>& sent;
  metrics::Family<metrics::Histogram>& unary_seconds;
  metrics::Family<metrics::Histogram>& stream_seconds;
  metrics::Counter& enqueued;
};

const char* TypeLabel(RpcType type) {
  switch (type) {
    case RpcType::UNARY:
      return "unary";
    case RpcType::CLIENT_STREAMING:
      return "client_stream";
    case RpcType::SERVER_STREAMING:
      return "server_stream";
    case RpcType::BIDI_STREAMING:
      return "bidi_stream";
  }
  return "unary";
}

// "/campaignq.v1.CampaignQueue/Apply" -> {"campaignq.v1.CampaignQueue", "Apply"}.
metrics::LabelValues ServiceMethodType(const char* full, RpcType type) {
  const std::string path = full == nullptr ? "" : full;
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {"", path, TypeLabel(type)};
  const size_t start = path.empty() || path[0] != '/' ? 0 : 1;
  return {path.substr(start, slash - start), path.substr(slash + 1), TypeLabel(type)};
}

class Interceptor : public grpc::experimental::Interceptor {
 public:
  Interceptor(RequestMetrics* metrics, grpc::experimental::ServerRpcInfo* info)
      : metrics_(metrics),
        labels_(ServiceMethodType(info->method(), info->type())),
        unary_(info->type() == RpcType::UNARY),
        start_(std::chrono::steady_clock::now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(Hook::POST_RECV_INITIAL_METADATA)) {
      metrics_->started.With(labels_).Increment();
    }
    if (methods->QueryInterceptionHookPoint(Hook::POST_RECV_MESSAGE)) {
      metrics_->received.With(labels_).Increment();
    }
    if (methods->QueryInterceptionHookPoint(Hook::PRE_SEND_MESSAGE)) {
      metrics_->sent.With(labels_).Increment();
    }
    if (methods->QueryInterceptionHookPoint(Hook::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      metrics::LabelValues handled = labels_;
      handled.push_back(GrpcCodeLabel(status.error_code()));
      metrics_->handled.With(handled).Increment();
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
      (unary_ ? metrics_->unary_seconds : metrics_->stream_seconds).With(labels_).Observe(seconds);
      if (status.ok() && labels_[1] == "Apply") metrics_->enqueued.Increment();
    }
    methods->Proceed();
  }

 private:
  RequestMetrics* metrics_;
  const metrics::LabelValues labels_;
  const bool unary_;
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

std::string GrpcCodeLabel(int code) {
  static constexpr std::array<const char*, 17> kNames = {
      "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
      "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
      "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
      "DataLoss", "Unauthenticated"};
  return code >= 0 && code < static_cast<int>(kNames.size()) ? kNames[code] : "Unknown";
}

std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
RequestMetricsInterceptors(metrics::Registry* registry) {
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> factories;
  factories.push_back(std::make_unique<Factory>(registry));
  return factories;
}

}  // namespace campaignq::server
