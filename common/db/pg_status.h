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

// Maps an exception thrown by libpqxx (or anything else) to a status:
//   broken_connection, admin shutdown, too many connections -> UNAVAILABLE
//   40001, 40P01, 55P03, query_canceled                      -> ABORTED
//   unique_violation                                        -> ALREADY_EXISTS
//   check/foreign-key/not-null violations, data exceptions  -> FAILED_PRECONDITION
//   in_doubt_error (commit outcome unknown)                  -> UNKNOWN
//   anything else                                           -> INTERNAL
// The message keeps the SQLSTATE as "[sqlstate XXXXX]" and the status
// carries it as payload "sqlstate" (see SqlState()).
absl::Status StatusFromException(const std::exception& error);

// The SQLSTATE a status was made from, or "" if none.
std::string SqlState(const absl::Status& status);

// Transient: worth retrying as is, after a backoff (lost connection, server
// restart, serialization failure, deadlock, lock not available).
bool IsTransient(const absl::Status& status);

}  // namespace campaignq::db
