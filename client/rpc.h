#pragma once
// Channels, deadlines and error reporting shared by every command.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/options.h"

namespace campaignq::client {

// Returns a plaintext channel to `server` (HOST:PORT) without credentials.
// Channels with different `index` values use separate connections, so
// storm's load is not funnelled through one HTTP/2 connection.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& server, int index = 0);

// The same with `connect`'s TLS and bearer token (every call carries it,
// plaintext or not). INVALID_ARGUMENT when a PEM file cannot be read or
// --cert comes without --key.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const std::string& server,
                                                           const ConnectOptions& connect,
                                                           int index = 0);

// Sets the call's deadline to now + `timeout`: no RPC waits forever.
void SetTimeout(grpc::ClientContext* context, absl::Duration timeout);

// Returns the canonical name of a gRPC code ("NOT_FOUND"), or "CODE_<n>".
std::string StatusCodeName(grpc::StatusCode code);

// Returns "error: <CODE_NAME>: <message>".
std::string RpcErrorText(const grpc::Status& status);

// Prints RpcErrorText to stderr and returns kExitFailure.
int ReportRpcError(const grpc::Status& status);

// Prints "usage error: <message>" and a pointer to --help to stderr and
// returns kExitUsage.
int ReportUsageError(absl::string_view message);

}  // namespace campaignq::client
