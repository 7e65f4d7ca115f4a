#pragma once
// Running short transactions and named statements.

#include <algorithm>
#include <cstdint>
#include <exception>
#include <pqxx/pqxx>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/db/connect.h"
#include "common/db/pg_status.h"
#include "common/sql/statement.h"
#include "statements.h"

namespace campaignq::db {

// Every campaignq transaction starts with one round trip of
//   BEGIN; SET TRANSACTION ISOLATION LEVEL READ COMMITTED;
//   SELECT set_config('synchronous_commit', 'on', true) WHERE ... off/local
// Why each part:
// - libpqxx's own transaction<read_committed> sends a bare BEGIN, which
//   takes the role's or database's default: under
//   `default_transaction_isolation = serializable` the claim's step 2 would
//   no longer see a fresh snapshot, and contended claims, Close and Cancel
//   would turn into 40001 storms.
// - A COMMIT that campaignq acknowledges (an Apply's reply, a decision a
//   watcher is told) must survive a crash of PostgreSQL: with
//   synchronous_commit off or local (a server, role or database default
//   chosen for speed) the last commits vanish in a crash although their
//   callers were told they happened. Stronger settings (remote_write,
//   remote_apply for synchronous replicas) are kept as they are. The
//   wake-up NOTIFY alone opts out again (QueueNotifyPending).
// Remembers whether its connection is pooler-safe, which decides how Exec
// runs statements.
class ReadCommittedTransaction : public pqxx::internal::basic_transaction {
 public:
  explicit ReadCommittedTransaction(Connection& connection)
      : pqxx::internal::namedclass("ReadCommittedTransaction", ""),
        pqxx::internal::basic_transaction(connection, kIsolationAndDurability, pqxx::read_write),
        pooler_safe_(connection.pooler_safe()) {
    Begin();
  }
  ~ReadCommittedTransaction() noexcept override { End(); }

  bool pooler_safe() const { return pooler_safe_; }

 private:
  // libpqxx appends this to "BEGIN; SET TRANSACTION ISOLATION LEVEL " and
  // sends the whole in one message. A constant, never data. It must not be
  // spelled exactly "READ COMMITTED": libpqxx drops that spelling.
  static constexpr char kIsolationAndDurability[] =
      "READ COMMITTED; SELECT set_config('synchronous_commit', 'on', true) "
      "WHERE current_setting('synchronous_commit') IN ('off', 'local')";

  const bool pooler_safe_;
};

// "{1,2,3}": the text form of a bigint[] parameter. Only ever built from
// integers (ids), never from user input.
inline std::string BigintArrayLiteral(const std::vector<int64_t>& values) {
  return absl::StrCat("{", absl::StrJoin(values, ","), "}");
}

// The text form of a text[] parameter: every element double-quoted, with
// backslashes and double quotes escaped, so any string (user ids with
// quotes, commas, braces, spaces, or spelling NULL) round-trips.
inline std::string TextArrayLiteral(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

// The text form of a bigint[] column ("{1,2,3}", "{}") back to its values.
// Throws (as libpqxx does for a bad value) on anything else.
inline std::vector<int64_t> ParseBigintArray(absl::string_view text) {
  if (text.size() < 2 || text.front() != '{' || text.back() != '}') {
    throw std::invalid_argument("not a bigint[]: " + std::string(text));
  }
  std::vector<int64_t> values;
  text = text.substr(1, text.size() - 2);
  if (text.empty()) return values;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    int64_t value = 0;
    if (!absl::SimpleAtoi(part, &value)) {
      throw std::invalid_argument("not a bigint[]: {" + std::string(text) + "}");
    }
    values.push_back(value);
  }
  return values;
}

// Runs a named statement: prepared on the connection (see Connect()), or on
// a pooler-safe connection sent with its parameters as an unnamed statement.
// Parameters are always parameters, never spliced into the text.
template <typename... Args>
pqxx::result Exec(ReadCommittedTransaction& txn, sql::Statement statement, Args&&... args) {
  if (txn.pooler_safe()) {
    return txn.exec_params(sql::StatementText(statement), std::forward<Args>(args)...);
  }
  return txn.exec_prepared(statement.name, std::forward<Args>(args)...);
}

// The one row of a statement that looks a row up by its key. libpqxx 6.4's
// result::operator[] does not check bounds, so indexing an empty result
// reads past it and crashes the process; a row another transaction deleted
// since an earlier statement read it is an ordinary outcome, `missing`.
// More than one row breaks the statement's contract: INTERNAL.
inline absl::StatusOr<pqxx::row> OneRow(const pqxx::result& rows, absl::Status missing) {
  if (rows.size() == 1) return rows[0];
  if (rows.empty()) return missing;
  return absl::InternalError(
      absl::StrCat("a statement returned ", rows.size(), " rows where it promises at most one"));
}

// The row of a statement that always returns exactly one (an aggregate, a
// function call): INTERNAL, never a crash, if it ever does not.
inline absl::StatusOr<pqxx::row> OneRow(const pqxx::result& rows) {
  return OneRow(rows, absl::InternalError("a statement that always returns a row returned none"));
}

// Runs body(txn) in a READ COMMITTED transaction and commits when body
// returns OK. Body returns absl::Status or absl::StatusOr<T>; an error or an
// exception rolls back. Exceptions become statuses via StatusFromException.
// A commit whose outcome is unknown (connection lost during COMMIT) is
// UNKNOWN: never retry it blindly.
template <typename Body>
auto InTransaction(Connection& connection, Body&& body)
    -> decltype(body(std::declval<ReadCommittedTransaction&>())) {
  using Result = decltype(body(std::declval<ReadCommittedTransaction&>()));
  try {
    ReadCommittedTransaction txn(connection);
    Result result = body(txn);
    if (result.ok()) txn.commit();
    return result;
  } catch (const std::exception& error) {
    return Result(StatusFromException(error));
  }
}

// --- Deadlines ---------------------------------------------------------------
// A caller's deadline (a gRPC call's, capped by the server) reaches
// PostgreSQL as the transaction's statement_timeout, so that SQL a caller
// no longer waits for stops: its connection and locks go back at once.
// absl::InfiniteFuture() is "no deadline" and costs nothing.

// DEADLINE_EXCEEDED for a caller whose deadline passed.
inline absl::Status DeadlineExceeded() {
  return absl::DeadlineExceededError("the call's deadline passed before it completed");
}

// `status` as the caller should see it: a statement cancelled (57014) once
// the deadline had passed is DEADLINE_EXCEEDED, not a transient ABORTED.
// A small tolerance covers the timer firing a moment early.
inline absl::Status ForDeadline(absl::Status status, absl::Time deadline) {
  if (!status.ok() && deadline != absl::InfiniteFuture() &&
      SqlState(status) == kSqlstateQueryCanceled &&
      absl::Now() + absl::Milliseconds(20) >= deadline) {
    absl::Status exceeded = DeadlineExceeded();
    status.ForEachPayload(
        [&](absl::string_view key, const absl::Cord& value) { exceeded.SetPayload(key, value); });
    return exceeded;
  }
  return status;
}

// Sets the transaction's statement_timeout to the time left before
// `deadline` (SessionLimitStatementTimeout). Throws like Exec.
inline void LimitStatementsTo(ReadCommittedTransaction& txn, absl::Time deadline) {
  const int64_t left_ms = absl::ToInt64Milliseconds(
      absl::Ceil(std::max(deadline - absl::Now(), absl::Milliseconds(1)), absl::Milliseconds(1)));
  Exec(txn, sql::kSessionLimitStatementTimeout, left_ms);
}

namespace internal {
inline const absl::Status& StatusOf(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& result) {
  return result.status();
}
}  // namespace internal

// InTransaction bounded by `deadline`: DEADLINE_EXCEEDED without touching
// the database when it has passed already; otherwise every statement of
// the transaction is cancelled by PostgreSQL when it passes (then
// DEADLINE_EXCEEDED too, rolled back).
template <typename Body>
auto InTransaction(Connection& connection, absl::Time deadline, Body&& body)
    -> decltype(body(std::declval<ReadCommittedTransaction&>())) {
  using Result = decltype(body(std::declval<ReadCommittedTransaction&>()));
  if (deadline == absl::InfiniteFuture()) return InTransaction(connection, body);
  if (absl::Now() >= deadline) return Result(DeadlineExceeded());
  Result result = InTransaction(connection, [&](ReadCommittedTransaction& txn) -> Result {
    LimitStatementsTo(txn, deadline);
    return body(txn);
  });
  if (result.ok()) return result;
  return Result(ForDeadline(internal::StatusOf(result), deadline));
}

}  // namespace campaignq::db
