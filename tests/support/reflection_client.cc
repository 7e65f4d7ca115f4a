#include "support/reflection_client.h"

#include <grpcpp/impl/codegen/client_unary_call.h>
#include <grpcpp/impl/codegen/rpc_method.h>
#include <grpcpp/impl/codegen/sync_stream.h>

#include <map>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"

namespace campaignq::testing {
namespace {

namespace reflection = grpc::reflection::v1alpha;

// Whether `pool` defines `symbol` as a service, method or message.
bool Defines(const google::protobuf::DescriptorPool& pool, const std::string& symbol) {
  return pool.FindServiceByName(symbol) != nullptr || pool.FindMethodByName(symbol) != nullptr ||
         pool.FindMessageTypeByName(symbol) != nullptr ||
         pool.FindEnumTypeByName(symbol) != nullptr;
}
using google::protobuf::FileDescriptorProto;

// One request on a fresh reflection stream.
absl::StatusOr<reflection::ServerReflectionResponse> Ask(
    grpc::Channel* channel, const reflection::ServerReflectionRequest& request) {
  auto stub = reflection::ServerReflection::NewStub(
      std::shared_ptr<grpc::Channel>(channel, [](grpc::Channel*) {}));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto stream = stub->ServerReflectionInfo(&context);
  reflection::ServerReflectionResponse response;
  if (!stream->Write(request) || !stream->WritesDone() || !stream->Read(&response)) {
    const grpc::Status status = stream->Finish();
    return absl::UnavailableError(
        absl::StrCat("reflection stream failed: ", status.error_message()));
  }
  stream->Finish().IgnoreError();
  if (response.has_error_response()) {
    return absl::Status(static_cast<absl::StatusCode>(response.error_response().error_code()),
                        response.error_response().error_message());
  }
  return response;
}

grpc::ByteBuffer ToBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

std::string FromBuffer(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  buffer.Dump(&slices).IgnoreError();
  std::string bytes;
  for (const grpc::Slice& slice : slices) {
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return bytes;
}

}  // namespace

ReflectionClient::ReflectionClient(std::shared_ptr<grpc::Channel> channel)
    : channel_(std::move(channel)) {}

absl::StatusOr<std::vector<std::string>> ReflectionClient::ListServices() {
  reflection::ServerReflectionRequest request;
  request.set_list_services("");
  auto response = Ask(channel_.get(), request);
  if (!response.ok()) return response.status();
  std::vector<std::string> names;
  for (const auto& service : response->list_services_response().service()) {
    names.push_back(service.name());
  }
  return names;
}

absl::Status ReflectionClient::LoadSymbol(const std::string& symbol) {
  if (Defines(pool_, symbol)) return absl::OkStatus();
  reflection::ServerReflectionRequest request;
  request.set_file_containing_symbol(symbol);
  auto response = Ask(channel_.get(), request);
  if (!response.ok()) return response.status();
  // The server sends the file and its dependencies; build them in
  // dependency order (a file only after everything it imports).
  std::map<std::string, FileDescriptorProto> files;
  for (const std::string& bytes : response->file_descriptor_response().file_descriptor_proto()) {
    FileDescriptorProto file;
    if (!file.ParseFromString(bytes)) return absl::InternalError("unparsable file descriptor");
    files[file.name()] = file;
  }
  std::function<absl::Status(const std::string&)> build = [&](const std::string& name) {
    if (loaded_files_.count(name) > 0 || pool_.FindFileByName(name) != nullptr) {
      return absl::OkStatus();
    }
    auto it = files.find(name);
    if (it == files.end()) {
      // A dependency the server did not send along: ask for it by name.
      reflection::ServerReflectionRequest by_name;
      by_name.set_file_by_filename(name);
      auto more = Ask(channel_.get(), by_name);
      if (!more.ok()) return more.status();
      for (const std::string& bytes : more->file_descriptor_response().file_descriptor_proto()) {
        FileDescriptorProto file;
        if (file.ParseFromString(bytes)) files.emplace(file.name(), file);
      }
      it = files.find(name);
      if (it == files.end()) return absl::NotFoundError(absl::StrCat("no descriptor for ", name));
    }
    for (const std::string& dependency : it->second.dependency()) {
      if (absl::Status status = build(dependency); !status.ok()) return status;
    }
    if (pool_.BuildFile(it->second) == nullptr) {
      return absl::InternalError(absl::StrCat("descriptor of ", name, " does not build"));
    }
    loaded_files_.insert(name);
    return absl::OkStatus();
  };
  for (const auto& [name, file] : files) {
    if (absl::Status status = build(name); !status.ok()) return status;
  }
  if (!Defines(pool_, symbol)) {
    return absl::NotFoundError(absl::StrCat("the server's descriptors do not define ", symbol));
  }
  return absl::OkStatus();
}

absl::StatusOr<const google::protobuf::ServiceDescriptor*> ReflectionClient::DescribeService(
    const std::string& name) {
  if (absl::Status status = LoadSymbol(name); !status.ok()) return status;
  const auto* service = pool_.FindServiceByName(name);
  if (service == nullptr) return absl::NotFoundError(absl::StrCat(name, " is not a service"));
  return service;
}

absl::StatusOr<const google::protobuf::Descriptor*> ReflectionClient::DescribeMessage(
    const std::string& name) {
  if (absl::Status status = LoadSymbol(name); !status.ok()) return status;
  const auto* message = pool_.FindMessageTypeByName(name);
  if (message == nullptr) return absl::NotFoundError(absl::StrCat(name, " is not a message"));
  return message;
}

absl::StatusOr<ReflectionClient::CallResult> ReflectionClient::Call(const std::string& method,
                                                                    const std::string& request_json,
                                                                    std::chrono::seconds timeout) {
  const size_t slash = method.rfind('/');
  if (slash == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("method must be Service/Method: ", method));
  }
  auto service = DescribeService(method.substr(0, slash));
  if (!service.ok()) return service.status();
  const auto* descriptor = (*service)->FindMethodByName(method.substr(slash + 1));
  if (descriptor == nullptr) return absl::NotFoundError(absl::StrCat("no method ", method));
  if (descriptor->client_streaming()) {
    return absl::UnimplementedError("client-streaming calls are not needed by these tests");
  }

  std::unique_ptr<google::protobuf::Message> request(
      factory_.GetPrototype(descriptor->input_type())->New());
  if (auto parsed = google::protobuf::util::JsonStringToMessage(request_json, request.get());
      !parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("request JSON: ", parsed.ToString()));
  }
  const std::string path = absl::StrCat("/", (*service)->full_name(), "/", descriptor->name());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + timeout);
  const google::protobuf::Message* prototype = factory_.GetPrototype(descriptor->output_type());
  CallResult result;
  auto add_response = [&](const grpc::ByteBuffer& buffer) -> absl::Status {
    std::unique_ptr<google::protobuf::Message> response(prototype->New());
    if (!response->ParseFromString(FromBuffer(buffer))) {
      return absl::InternalError(absl::StrCat("unparsable response of ", method));
    }
    // An Any (ApplyBatch's per-request google.rpc.Status details) names a
    // type no service mentions: load it through reflection and print again,
    // as grpcurl resolves an Any's type from its descriptor source.
    std::string json;
    for (int loaded = 0;; ++loaded) {
      json.clear();
      const auto printed = google::protobuf::util::MessageToJsonString(*response, &json);
      if (printed.ok()) break;
      constexpr absl::string_view kUnknownType = "unknown type: ";
      const absl::string_view message(printed.message().data(), printed.message().size());
      const size_t at = message.find(kUnknownType);
      if (at == absl::string_view::npos || loaded == 16) {
        return absl::InternalError(printed.ToString());
      }
      if (absl::Status status = LoadSymbol(std::string(message.substr(at + kUnknownType.size())));
          !status.ok()) {
        return status;
      }
    }
    result.responses_json.push_back(json);
    return absl::OkStatus();
  };
  const grpc::ByteBuffer request_bytes = ToBuffer(request->SerializeAsString());
  if (descriptor->server_streaming()) {
    grpc::internal::RpcMethod rpc(path.c_str(), grpc::internal::RpcMethod::SERVER_STREAMING);
    std::unique_ptr<grpc::ClientReader<grpc::ByteBuffer>> reader(
        grpc::internal::ClientReaderFactory<grpc::ByteBuffer>::Create(channel_.get(), rpc, &context,
                                                                      request_bytes));
    grpc::ByteBuffer buffer;
    while (reader->Read(&buffer)) {
      if (absl::Status added = add_response(buffer); !added.ok()) return added;
    }
    result.status = reader->Finish();
    return result;
  }
  grpc::internal::RpcMethod rpc(path.c_str(), grpc::internal::RpcMethod::NORMAL_RPC);
  grpc::ByteBuffer response_bytes;
  result.status = grpc::internal::BlockingUnaryCall<grpc::ByteBuffer, grpc::ByteBuffer>(
      channel_.get(), rpc, &context, request_bytes, &response_bytes);
  if (result.status.ok()) {
    if (absl::Status added = add_response(response_bytes); !added.ok()) return added;
  }
  return result;
}

}  // namespace campaignq::testing
