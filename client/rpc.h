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

// The exit code for a failed RPC: ExitCodeForRpcCode (common/exit_codes.h),
// 10 + the gRPC code, e.g. 15 for NOT_FOUND.
int ExitCodeFor(const grpc::Status& status);

// The server's request id of a failed call: google.rpc.RequestInfo in the
// status details, else the message's " [request_id=ID]" suffix; "" if none.
std::string RequestIdOf(const grpc::Status& status);

// One line of JSON describing a failed call:
// {"code":"NOT_FOUND","grpc_code":5,"message":"...","request_id":"...","reason":"...",
//  "exit_code":15}; the message without its request id suffix; request_id
// and reason (google.rpc.ErrorInfo) only when the server sent them.
std::string RpcErrorJson(const grpc::Status& status);

// Prints the error to stderr (RpcErrorText, or RpcErrorJson when `json`)
// and returns ExitCodeFor(status).
int ReportRpcError(const grpc::Status& status, bool json);

// Prints "usage error: <message>" and a pointer to --help to stderr, or
// with `json` {"code":"USAGE","message":"...","exit_code":2}, and returns
// kExitUsage.
int ReportUsageError(absl::string_view message, bool json);

// A random (version 4) UUID: create-campaign's default --request-id.
std::string RandomUuid();

}  // namespace campaignq::client
