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

// The JSON shape of every error under --json, on stderr, one object on one
// line: "code" (a gRPC code name, or one of the words below), "message",
// "exit_code" (the process's), and for a failed RPC also "grpc_code",
// "request_id" and "reason" when the server sent them, and "details": the
// google.rpc.Status details as grpcurl -format-error prints them (each Any
// with its "@type"). Like --json's messages, absent fields are left out.
inline constexpr char kUsageErrorCode[] = "USAGE";                  // exit kExitUsage
inline constexpr char kFailureCode[] = "FAILED";                    // exit kExitFailure
inline constexpr char kInvariantBrokenCode[] = "INVARIANT_BROKEN";  // exit kExitInvariantBroken

// A failed call as that JSON, e.g.
// {"code":"NOT_FOUND","grpc_code":5,"message":"...","request_id":"...","reason":"...",
//  "details":[...],"exit_code":15}; the message without its request id
// suffix. `exit_code` defaults to ExitCodeFor(status); storm, which exits
// kExitFailure for any RPC that stops it, passes its own.
std::string RpcErrorJson(const grpc::Status& status);
std::string RpcErrorJson(const grpc::Status& status, int exit_code);

// Prints the error to stderr (RpcErrorText, or RpcErrorJson when `json`)
// and returns `exit_code` (default ExitCodeFor(status)).
int ReportRpcError(const grpc::Status& status, bool json);
int ReportRpcError(const grpc::Status& status, bool json, int exit_code);

// Prints ErrorJson (common/json_text.h: {"code":code,"message":message,
// "exit_code":N}) when `json`, else `text`, as one line to stderr; returns
// `exit_code`.
int ReportFailure(absl::string_view code, absl::string_view message, int exit_code, bool json,
                  absl::string_view text);

// Prints "usage error: <message>" and a pointer to --help to stderr, or
// with `json` {"code":"USAGE","message":"...","exit_code":2}, and returns
// kExitUsage.
int ReportUsageError(absl::string_view message, bool json);

// A random (version 4) UUID: create-campaign's default --request-id.
std::string RandomUuid();

}  // namespace campaignq::client
