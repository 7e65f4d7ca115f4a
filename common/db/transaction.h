#pragma once
// Running short transactions and named statements.

#include <exception>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <pqxx/pqxx>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/db/pg_status.h"
#include "common/sql/statement.h"

namespace campaignq::db {

// Every campaignq transaction says its isolation level out loud (BEGIN
// ISOLATION LEVEL READ COMMITTED), whatever the server's default is.
using ReadCommittedTransaction = pqxx::transaction<pqxx::read_committed>;

// Pooler-safe mode, for PgBouncer in transaction pooling: no prepared
// statements (a server connection may change between transactions) and no
// session state. Process-wide; set once at start, before any connection.
void SetPoolerSafeMode(bool enabled);
bool PoolerSafeMode();

// "{1,2,3}": the text form of a bigint[] parameter. Only ever built from
// integers (ids), never from user input.
inline std::string BigintArrayLiteral(const std::vector<int64_t>& values) {
  return absl::StrCat("{", absl::StrJoin(values, ","), "}");
}

// Runs a named statement: prepared on the connection (see Connect()), or in
// pooler-safe mode sent with its parameters as an unnamed statement.
// Parameters are always parameters, never spliced into the text.
template <typename... Args>
pqxx::result Exec(pqxx::transaction_base& txn, sql::Statement statement, Args&&... args) {
  if (PoolerSafeMode()) {
    return txn.exec_params(sql::StatementText(statement), std::forward<Args>(args)...);
  }
  return txn.exec_prepared(statement.name, std::forward<Args>(args)...);
}

// Runs body(txn) in a READ COMMITTED transaction and commits when body
// returns OK. Body returns absl::Status or absl::StatusOr<T>; an error or an
// exception rolls back. Exceptions become statuses via StatusFromException.
// A commit whose outcome is unknown (connection lost during COMMIT) is
// UNKNOWN: never retry it blindly.
template <typename Body>
auto InTransaction(pqxx::connection_base& connection, Body&& body)
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

}  // namespace campaignq::db
