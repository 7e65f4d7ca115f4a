#pragma once
// A client that knows nothing but the server reflection protocol, as grpcurl
// does: it lists services, fetches their descriptors, and calls methods
// with JSON requests through dynamic messages. Tests use it to prove that
// everything the server lists can be described and called by such a
// client (no compiled-in stubs of the called services).

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"

namespace campaignq::testing {

class ReflectionClient {
 public:
  explicit ReflectionClient(std::shared_ptr<grpc::Channel> channel);

  // Every service the server lists (grpcurl's `list`).
  absl::StatusOr<std::vector<std::string>> ListServices();
  // Loads the file that defines `symbol` (a service, method or message,
  // fully qualified) and its dependencies; NOT_FOUND (or the server's
  // error) when the server cannot describe it (grpcurl's `describe`).
  absl::StatusOr<const google::protobuf::ServiceDescriptor*> DescribeService(
      const std::string& name);
  absl::StatusOr<const google::protobuf::Descriptor*> DescribeMessage(const std::string& name);

  struct CallResult {
    grpc::Status status;
    std::vector<std::string> responses_json;  // one per response message
  };
  // Calls "package.Service/Method" with `request_json` (grpcurl's `-d`),
  // unary or server-streaming (reads the stream to its end).
  absl::StatusOr<CallResult> Call(const std::string& method, const std::string& request_json,
                                  std::chrono::seconds timeout = std::chrono::seconds(30));

 private:
  absl::Status LoadSymbol(const std::string& symbol);

  std::shared_ptr<grpc::Channel> channel_;
  google::protobuf::DescriptorPool pool_;
  google::protobuf::DynamicMessageFactory factory_{&pool_};
  std::set<std::string> loaded_files_;
};

}  // namespace campaignq::testing
