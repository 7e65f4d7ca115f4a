#pragma once
// The one place where libpqxx exceptions become absl::Status values.

#include <exception>
#include <string>

#include "absl/status/status.h"

namespace campaignq::db {

// SQLSTATEs the queue reacts to by name.
inline constexpr char kSqlstateSerializationFailure[] = "40001";
inline constexpr char kSqlstateDeadlockDetected[] = "40P01";
inline constexpr char kSqlstateLockNotAvailable[] = "55P03";  // NOWAIT, lock_timeout
inline constexpr char kSqlstateUniqueViolation[] = "23505";
inline constexpr char kSqlstateCheckViolation[] = "23514";
inline constexpr char kSqlstateQueryCanceled[] = "57014";        // statement_timeout, cancel
inline constexpr char kSqlstateReadOnlyTransaction[] = "25006";  // reached a standby

// Maps an exception thrown by libpqxx (or anything else) to a status:
//   broken_connection, other libpqxx failures without a SQLSTATE,
//   class 08, 57P01-57P03 (shutdown), class 53 (disk full, out of
//   memory, too many connections), class 58 (I/O), 25006 (read-only:
//   a standby)                                              -> UNAVAILABLE
//   40001, 40P01, 55P03, 57014 query_canceled               -> ABORTED
//   unique_violation                                        -> ALREADY_EXISTS
//   check/foreign-key/not-null violations (class 23)        -> FAILED_PRECONDITION
//   data exceptions (class 22)                              -> INVALID_ARGUMENT
//   in_doubt_error (commit outcome unknown)                  -> UNKNOWN
//   anything else                                           -> INTERNAL
// The message keeps the SQLSTATE as "[sqlstate XXXXX]" and the status
// carries it as payload "campaignq/sqlstate" (see SqlState()). The message
// is for logs only: it holds PostgreSQL's text (names of roles, hosts,
// constraints); server/status_mapping.h never sends it to a client.
absl::Status StatusFromException(const std::exception& error);

// The SQLSTATE a status was made from, or "" if none.
std::string SqlState(const absl::Status& status);

// True for errors about the rows a statement touched (data exceptions,
// constraint violations, a trigger's RAISE: SQLSTATE classes 09, 22, 23, 27,
// 2F, 38, 39, 44, P0): deciding the same application again fails again, so
// the worker charges it an attempt. Everything else (resource faults,
// timeouts, schema or internal errors) is the database's state, not the
// application's, and is never charged to one.
bool IsChargeableToApplication(const absl::Status& status);

// True when the session is gone or useless and a new connection is needed:
// UNAVAILABLE except the resource faults (classes 53, 58), which a retry on
// the same session may get past. 25006 counts: after a failover the
// session may sit on a standby, and only a reconnect finds the primary.
bool IsConnectionLost(const absl::Status& status);

// Transient: worth retrying as is, after a backoff (lost connection, server
// restart, serialization failure, deadlock, lock not available).
bool IsTransient(const absl::Status& status);

}  // namespace campaignq::db
