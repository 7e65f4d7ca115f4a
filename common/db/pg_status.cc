#include "common/db/pg_status.h"

#include <pqxx/pqxx>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace campaignq::db {
namespace {

constexpr char kSqlstatePayload[] = "campaignq/sqlstate";

absl::StatusCode CodeForSqlstate(const std::string& state) {
  if (absl::StartsWith(state, "40") || state == kSqlstateLockNotAvailable ||
      state == kSqlstateQueryCanceled) {
    return absl::StatusCode::kAborted;
  }
  if (state == kSqlstateUniqueViolation) return absl::StatusCode::kAlreadyExists;
  // Class 08 connection exceptions; 57P01-57P03 admin/crash shutdown, cannot
  // connect now; class 53 insufficient resources (disk full, out of memory,
  // too many connections); class 58 system errors (I/O); 25006 a read-only
  // transaction (we reached a standby, e.g. right after a failover).
  if (absl::StartsWith(state, "08") || absl::StartsWith(state, "57P") ||
      absl::StartsWith(state, "53") || absl::StartsWith(state, "58") ||
      state == kSqlstateReadOnlyTransaction) {
    return absl::StatusCode::kUnavailable;
  }
  // Class 22 (data exception: a value out of range, invalid text for a
  // type) is the request's value, not the database's state.
  if (absl::StartsWith(state, "22")) return absl::StatusCode::kInvalidArgument;
  if (absl::StartsWith(state, "23")) return absl::StatusCode::kFailedPrecondition;
  return absl::StatusCode::kInternal;
}

absl::Status WithSqlstate(absl::StatusCode code, const std::string& message,
                          const std::string& state) {
  absl::Status status(code, absl::StrCat(message, " [sqlstate ", state, "]"));
  status.SetPayload(kSqlstatePayload, absl::Cord(state));
  return status;
}

}  // namespace

absl::Status StatusFromException(const std::exception& error) {
  // libpqxx 6.4 throws its class-40 exceptions (serialization failure,
  // deadlock) without the SQLSTATE and not as sql_error: recover the state
  // from the type, or a deadlock would look like a deterministic error.
  if (const auto* rollback = dynamic_cast<const pqxx::transaction_rollback*>(&error)) {
    const char* state = "40000";
    if (dynamic_cast<const pqxx::serialization_failure*>(rollback) != nullptr) state = "40001";
    if (dynamic_cast<const pqxx::deadlock_detected*>(rollback) != nullptr) state = "40P01";
    if (dynamic_cast<const pqxx::statement_completion_unknown*>(rollback) != nullptr) {
      return WithSqlstate(absl::StatusCode::kUnknown,
                          absl::StrCat("statement outcome unknown: ", rollback->what()), "40003");
    }
    return WithSqlstate(absl::StatusCode::kAborted, rollback->what(), state);
  }
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&error)) {
    const std::string& state = sql->sqlstate();
    std::string message = sql->what();
    while (!message.empty() && (message.back() == '\n' || message.back() == ' '))
      message.pop_back();
    return WithSqlstate(CodeForSqlstate(state), message, state);
  }
  if (dynamic_cast<const pqxx::in_doubt_error*>(&error) != nullptr) {
    return absl::UnknownError(
        absl::StrCat("connection lost during COMMIT; outcome unknown: ", error.what()));
  }
  if (dynamic_cast<const pqxx::broken_connection*>(&error) != nullptr) {
    return absl::UnavailableError(absl::StrCat("database unreachable: ", error.what()));
  }
  // Any other libpqxx failure without a SQLSTATE is about the connection
  // itself (e.g. a failed reset() after the server went away): retryable,
  // not an internal error of ours.
  if (dynamic_cast<const pqxx::failure*>(&error) != nullptr) {
    return absl::UnavailableError(absl::StrCat("database connection failed: ", error.what()));
  }
  return absl::InternalError(absl::StrCat("database error: ", error.what()));
}

std::string SqlState(const absl::Status& status) {
  auto payload = status.GetPayload(kSqlstatePayload);
  return payload.has_value() ? std::string(*payload) : std::string();
}

bool IsChargeableToApplication(const absl::Status& status) {
  const std::string state = SqlState(status);
  if (state.size() != 5) return false;
  const std::string error_class = state.substr(0, 2);
  // 09 triggered action, 22 data exception, 23 integrity constraint,
  // 27 triggered data change, 2F/38/39 routine exceptions, 44 WITH CHECK
  // OPTION, P0 PL/pgSQL RAISE: each is about the rows a statement touched.
  for (const char* data_class : {"09", "22", "23", "27", "2F", "38", "39", "44", "P0"}) {
    if (error_class == data_class) return true;
  }
  return false;
}

bool IsConnectionLost(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kUnavailable) return false;
  const std::string state = SqlState(status);
  return !absl::StartsWith(state, "53") && !absl::StartsWith(state, "58");
}

bool IsTransient(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable ||
         status.code() == absl::StatusCode::kAborted;
}

}  // namespace campaignq::db
