#pragma once
// Calls to the two standard services campaignq-server enables, without
// their generated stubs (Debian ships the libraries but not the stubs or
// grpcurl): the messages are tiny and encoded by hand.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace campaignq::server_test {

// grpc.health.v1.Health/Check: "SERVING", "NOT_SERVING", ...; a failed call
// (e.g. NOT_FOUND for an unknown service) is its status.
absl::StatusOr<std::string> CheckHealth(grpc::Channel* channel, const std::string& service);

// grpc.reflection.v1alpha.ServerReflection list_services: the names of
// every service the server offers.
absl::StatusOr<std::vector<std::string>> ListServicesByReflection(grpc::Channel* channel);

}  // namespace campaignq::server_test
