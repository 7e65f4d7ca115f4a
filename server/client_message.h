#pragma once
// What a client may read of an error: the one rule for every front of the
// server, the gRPC service (status_mapping.h) and the web console
// (console/console_api.h). The store's own message when campaignq's code
// wrote it about the request (INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS,
// FAILED_PRECONDITION, OUT_OF_RANGE, ABORTED, RESOURCE_EXHAUSTED,
// DEADLINE_EXCEEDED, CANCELLED, PERMISSION_DENIED, UNAUTHENTICATED). A
// status made from a database error (it carries a SQLSTATE), and every
// UNKNOWN, INTERNAL, UNAVAILABLE, UNIMPLEMENTED and DATA_LOSS, gets a fixed
// message per code instead: PostgreSQL's and libpq's text names hosts,
// ports, roles, constraints and SQLSTATEs, none of which a client may see.

#include <string>

#include "absl/status/status.h"

namespace campaignq::server {

// True when `status.message()` is campaignq's own text for the caller.
bool MessageIsForClient(const absl::Status& status);

// The fixed message of `code`, for when the real one is not for the client.
const char* FixedMessage(absl::StatusCode code);

// `status.message()` when it is for the client, else FixedMessage(code).
std::string ClientMessage(const absl::Status& status);

// The server's own faults (logged as WARNING by every front), as opposed to
// errors about the request.
bool IsServerFault(absl::StatusCode code);

}  // namespace campaignq::server
