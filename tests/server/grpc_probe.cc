#include "grpc_probe.h"

#include <google/protobuf/unknown_field_set.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/impl/client_unary_call.h>
#include <grpcpp/impl/rpc_method.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/sync_stream.h>

#include <chrono>

#include "absl/strings/str_cat.h"

namespace campaignq::server_test {
namespace {

using google::protobuf::UnknownField;
using google::protobuf::UnknownFieldSet;

// A length-delimited field: tag, varint length, bytes.
std::string StringField(int number, const std::string& value) {
  std::string out(1, static_cast<char>((number << 3) | 2));
  size_t length = value.size();
  do {
    char byte = static_cast<char>(length & 0x7f);
    length >>= 7;
    if (length != 0) byte |= 0x80;
    out.push_back(byte);
  } while (length != 0);
  return out + value;
}

grpc::ByteBuffer ToBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

std::string FromBuffer(const grpc::ByteBuffer& buffer) {
  grpc::Slice slice;
  if (!buffer.DumpToSingleSlice(&slice).ok()) return "";
  return std::string(reinterpret_cast<const char*>(slice.begin()), slice.size());
}

absl::Status FromGrpc(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

void SetDeadline(grpc::ClientContext* context) {
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
}

}  // namespace

absl::StatusOr<std::string> CheckHealth(grpc::Channel* channel, const std::string& service) {
  const grpc::internal::RpcMethod method("/grpc.health.v1.Health/Check",
                                         grpc::internal::RpcMethod::NORMAL_RPC);
  grpc::ClientContext context;
  SetDeadline(&context);
  grpc::ByteBuffer response;
  const grpc::Status status = grpc::internal::BlockingUnaryCall(
      channel, method, &context, ToBuffer(StringField(1, service)), &response);
  if (!status.ok()) return FromGrpc(status);
  UnknownFieldSet fields;
  if (!fields.ParseFromString(FromBuffer(response))) return absl::InternalError("bad response");
  int64_t value = 0;  // an absent field is the enum's zero, UNKNOWN
  for (int i = 0; i < fields.field_count(); ++i) {
    if (fields.field(i).number() == 1) value = fields.field(i).varint();
  }
  switch (value) {
    case 1:
      return std::string("SERVING");
    case 2:
      return std::string("NOT_SERVING");
    case 3:
      return std::string("SERVICE_UNKNOWN");
    default:
      return std::string("UNKNOWN");
  }
}

absl::StatusOr<std::vector<std::string>> ListServicesByReflection(grpc::Channel* channel) {
  const grpc::internal::RpcMethod method(
      "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
      grpc::internal::RpcMethod::BIDI_STREAMING);
  grpc::ClientContext context;
  SetDeadline(&context);
  std::unique_ptr<grpc::ClientReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>> stream(
      grpc::internal::ClientReaderWriterFactory<grpc::ByteBuffer, grpc::ByteBuffer>::Create(
          channel, method, &context));
  // ServerReflectionRequest{list_services (7): "*"}
  stream->Write(ToBuffer(StringField(7, "*")));
  stream->WritesDone();
  grpc::ByteBuffer response;
  std::vector<std::string> names;
  bool got = false;
  while (stream->Read(&response)) {
    got = true;
    UnknownFieldSet top;
    if (!top.ParseFromString(FromBuffer(response))) return absl::InternalError("bad response");
    for (int i = 0; i < top.field_count(); ++i) {
      // ServerReflectionResponse.list_services_response (6)
      if (top.field(i).number() != 6) continue;
      UnknownFieldSet list;
      list.ParseFromString(top.field(i).length_delimited());
      for (int j = 0; j < list.field_count(); ++j) {
        UnknownFieldSet service;  // ListServiceResponse.service (1) -> name (1)
        service.ParseFromString(list.field(j).length_delimited());
        for (int k = 0; k < service.field_count(); ++k) {
          if (service.field(k).number() == 1) names.push_back(service.field(k).length_delimited());
        }
      }
    }
  }
  const grpc::Status status = stream->Finish();
  if (!status.ok()) return FromGrpc(status);
  if (!got) return absl::InternalError("no reflection response");
  return names;
}

}  // namespace campaignq::server_test
