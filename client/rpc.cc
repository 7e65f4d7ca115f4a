#include "client/rpc.h"

#include <grpcpp/support/client_interceptor.h>

#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "campaignq/v1/service_config.h"
#include "client/format.h"
#include "common/json_text.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace campaignq::client {
namespace {

// How the server ends every error message (server/status_mapping.h).
constexpr char kRequestIdPrefix[] = " [request_id=";

grpc::ChannelArguments ChannelArgs(int index) {
  grpc::ChannelArguments args;
  // Distinct args plus a local subchannel pool: one TCP connection each.
  args.SetInt("campaignq.channel_index", index);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  // The published retry policy (proto/service_config.json): UNAVAILABLE is
  // retried for the calls that are safe to repeat. The default config: one
  // from the name resolver would win, and DNS supplies none.
  args.SetServiceConfigJSON(v1::kServiceConfigJson);
  return args;
}

absl::StatusOr<std::string> ReadPem(const std::string& path, absl::string_view flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read ", flag, " ", path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Adds the bearer token to every call. An interceptor rather than
// grpc::AccessTokenCredentials: gRPC sends call credentials only over TLS,
// and a token on a loopback plaintext port is legitimate.
class BearerInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit BearerInterceptor(const std::string* header) : header_(header) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->insert({"authorization", *header_});
    }
    methods->Proceed();
  }

 private:
  const std::string* header_;
};

class BearerFactory final : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit BearerFactory(const std::string& token) : header_("Bearer " + token) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* /*info*/) override {
    return new BearerInterceptor(&header_);
  }

 private:
  const std::string header_;  // lives as long as the channel
};

}  // namespace

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& server, int index) {
  return grpc::CreateCustomChannel(server, grpc::InsecureChannelCredentials(), ChannelArgs(index));
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const std::string& server,
                                                           const ConnectOptions& connect,
                                                           int index) {
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (connect.tls || !connect.ca_cert.empty() || !connect.cert.empty() || !connect.key.empty()) {
    if (connect.cert.empty() != connect.key.empty()) {
      return absl::InvalidArgumentError("--cert and --key go together");
    }
    grpc::SslCredentialsOptions ssl;
    if (!connect.ca_cert.empty()) {
      absl::StatusOr<std::string> ca = ReadPem(connect.ca_cert, "--ca-cert");
      if (!ca.ok()) return ca.status();
      ssl.pem_root_certs = *std::move(ca);
    }
    if (!connect.cert.empty()) {
      absl::StatusOr<std::string> cert = ReadPem(connect.cert, "--cert");
      if (!cert.ok()) return cert.status();
      absl::StatusOr<std::string> key = ReadPem(connect.key, "--key");
      if (!key.ok()) return key.status();
      ssl.pem_cert_chain = *std::move(cert);
      ssl.pem_private_key = *std::move(key);
    }
    credentials = grpc::SslCredentials(ssl);
  }
  if (connect.token.empty()) {
    return grpc::CreateCustomChannel(server, credentials, ChannelArgs(index));
  }
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<BearerFactory>(connect.token));
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      server, credentials, ChannelArgs(index), std::move(interceptors));
}

void SetTimeout(grpc::ClientContext* context, absl::Duration timeout) {
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

std::string StatusCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return absl::StrCat("CODE_", static_cast<int>(code));
  }
}

std::string RpcErrorText(const grpc::Status& status) {
  return absl::StrCat("error: ", StatusCodeName(status.error_code()), ": ", status.error_message());
}

int ExitCodeFor(const grpc::Status& status) {
  return ExitCodeForRpcCode(static_cast<int>(status.error_code()));
}

std::string RequestIdOf(const grpc::Status& status) {
  google::rpc::Status details;
  if (!status.error_details().empty() && details.ParseFromString(status.error_details())) {
    for (const google::protobuf::Any& any : details.details()) {
      google::rpc::RequestInfo info;
      if (any.UnpackTo(&info) && !info.request_id().empty()) return info.request_id();
    }
  }
  const std::string full = status.error_message();  // a copy: keep it alive
  absl::string_view message = full;
  const size_t at = message.rfind(kRequestIdPrefix);
  if (at == absl::string_view::npos || !absl::EndsWith(message, "]")) return "";
  message.remove_suffix(1);
  return std::string(message.substr(at + std::strlen(kRequestIdPrefix)));
}

std::string RpcErrorJson(const grpc::Status& status) {
  return RpcErrorJson(status, ExitCodeFor(status));
}

std::string RpcErrorJson(const grpc::Status& status, int exit_code) {
  const std::string full = status.error_message();  // a copy: keep it alive
  absl::string_view message = full;
  if (size_t at = message.rfind(kRequestIdPrefix);
      at != absl::string_view::npos && absl::EndsWith(message, "]")) {
    message = message.substr(0, at);
  }
  std::string out = absl::StrCat("{\"code\":", JsonQuoted(StatusCodeName(status.error_code())),
                                 ",\"grpc_code\":", static_cast<int>(status.error_code()),
                                 ",\"message\":", JsonQuoted(message));
  if (std::string id = RequestIdOf(status); !id.empty()) {
    absl::StrAppend(&out, ",\"request_id\":", JsonQuoted(id));
  }
  google::rpc::Status details;
  if (!status.error_details().empty() && details.ParseFromString(status.error_details())) {
    for (const google::protobuf::Any& any : details.details()) {
      google::rpc::ErrorInfo info;
      if (any.UnpackTo(&info) && !info.reason().empty()) {
        absl::StrAppend(&out, ",\"reason\":", JsonQuoted(info.reason()));
        break;
      }
    }
    if (details.details_size() > 0) {
      // As grpcurl -format-error shows them: each Any with its "@type".
      absl::StrAppend(&out, ",\"details\":[");
      for (int i = 0; i < details.details_size(); ++i) {
        absl::StrAppend(&out, i > 0 ? "," : "", ToJson(details.details(i)));
      }
      absl::StrAppend(&out, "]");
    }
  }
  absl::StrAppend(&out, ",\"exit_code\":", exit_code, "}");
  return out;
}

int ReportRpcError(const grpc::Status& status, bool json) {
  return ReportRpcError(status, json, ExitCodeFor(status));
}

int ReportRpcError(const grpc::Status& status, bool json, int exit_code) {
  std::cerr << (json ? RpcErrorJson(status, exit_code) : RpcErrorText(status)) << std::endl;
  return exit_code;
}

int ReportFailure(absl::string_view code, absl::string_view message, int exit_code, bool json,
                  absl::string_view text) {
  std::cerr << (json ? ErrorJson(code, message, exit_code) : std::string(text)) << std::endl;
  return exit_code;
}

int ReportUsageError(absl::string_view message, bool json) {
  return ReportFailure(kUsageErrorCode, message, kExitUsage, json,
                       absl::StrCat("usage error: ", message,
                                    "\n(run `campaignq --help`, or `campaignq COMMAND --help`, "
                                    "for usage)"));
}

std::string RandomUuid() {
  thread_local absl::BitGen bits;
  const uint64_t high = absl::Uniform<uint64_t>(bits);
  const uint64_t low = absl::Uniform<uint64_t>(bits);
  // Version 4 (random) in the high word's bits 12..15, variant 10 in the low
  // word's top two bits (RFC 4122, 4.4).
  const uint64_t h = (high & ~uint64_t{0xF000}) | uint64_t{0x4000};
  const uint64_t l = (low & ~(uint64_t{0x3} << 62)) | (uint64_t{0x2} << 62);
  return absl::StrFormat("%08x-%04x-%04x-%04x-%012x", h >> 32, (h >> 16) & 0xFFFF, h & 0xFFFF,
                         l >> 48, l & 0xFFFFFFFFFFFF);
}

}  // namespace campaignq::client
