#pragma once
// Connections, schemas and client threads of the race lab.

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/db/connect.h"
#include "common/sql/statement.h"
#include "lab/result.h"

namespace campaignq::lab {

using Clock = std::chrono::steady_clock;
inline double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// The text of a lab statement (sql/lab/*.sql).
const std::string& LabSql(campaignq::sql::Statement statement);

// Runs a named lab statement, prepared on every lab connection.
template <typename... Args>
pqxx::result Run(pqxx::transaction_base& txn, campaignq::sql::Statement statement, Args&&... args) {
  return txn.exec_prepared(statement.name, std::forward<Args>(args)...);
}

// Runs a lab script (DDL, several statements, no parameters) as it is.
void RunScript(pqxx::transaction_base& txn, campaignq::sql::Statement statement);

// The SQLSTATE of a caught exception, or "other" when it has none.
std::string SqlStateOf(const std::exception& error);

// A session for `schema`: db::Connect (core statements registered), the
// search_path set to the schema (then pg_catalog: the schema's pg_notify
// keeps the lab off the service's notification channels), lab statements registered, and
// lock_timeout and statement_timeout as a safety net so that no blocking strategy can hang a run.
absl::StatusOr<std::unique_ptr<db::Connection>> OpenLabConnection(const std::string& url,
                                                                  const std::string& schema);

// Whether the database at `url` holds the campaignq service's schema
// (sql/lab/session.sql LabServiceSchemaExists); a database error otherwise.
absl::StatusOr<bool> ServiceSchemaExists(const std::string& url);

// A fresh schema for one scenario, dropped (CASCADE) on destruction.
class ScenarioSchema {
 public:
  static absl::StatusOr<std::unique_ptr<ScenarioSchema>> Create(const std::string& url,
                                                                const std::string& scenario,
                                                                uint64_t seed);
  ~ScenarioSchema();
  ScenarioSchema(const ScenarioSchema&) = delete;
  ScenarioSchema& operator=(const ScenarioSchema&) = delete;

  const std::string& url() const { return url_; }
  const std::string& name() const { return name_; }
  // Setup, resets and end-state queries; search_path is the schema.
  db::Connection& admin() { return *admin_; }

 private:
  ScenarioSchema(std::string url, std::string name, std::unique_ptr<db::Connection> admin,
                 std::unique_ptr<db::Connection> owner);
  std::string url_;
  std::string name_;
  std::unique_ptr<db::Connection> admin_;
  std::unique_ptr<db::Connection> owner_;  // holds the pg_temp helpers
};

// Runs a script or a statement in its own transaction on the admin connection.
void AdminScript(ScenarioSchema& schema, campaignq::sql::Statement statement);
template <typename... Args>
pqxx::result Admin(ScenarioSchema& schema, campaignq::sql::Statement statement, Args&&... args) {
  pqxx::work txn(schema.admin());
  pqxx::result result = Run(txn, statement, std::forward<Args>(args)...);
  txn.commit();
  return result;
}

// body(client index, its own connection, its tally) runs on `clients`
// threads. Connections are opened first; the clock starts when every thread
// is ready and stops when the last one returns.
using ClientBody = std::function<void(int client, db::Connection& connection, Tally& tally)>;
struct ClientsRun {
  Tally tally;
  double seconds = 0;
};
absl::StatusOr<ClientsRun> RunClients(const ScenarioSchema& schema, int clients,
                                      const ClientBody& body);

// One logical operation with retries: attempt() is called until it returns
// kDone. kRetry (an optimistic conflict) and SQL errors whose SQLSTATE is in
// retry_on are counted and retried, with a short growing backoff when
// `backoff` is set; any other error is counted and ends the operation.
// Returns whether it completed; its latency is recorded when it did.
enum class Step { kDone, kRetry };
struct RetryPolicy {
  std::vector<std::string> retry_on;
  bool backoff = false;
  // The first backoff; it doubles with each retry, up to 32 times this,
  // jittered (common/backoff.h).
  std::chrono::microseconds first_backoff{100};
  int max_tries = 10000;
};
bool RunOperation(Tally& tally, const RetryPolicy& policy, const std::function<Step()>& attempt);

// Runs a locking statement and counts a lock wait when it was slow.
pqxx::result TimedLock(Tally& tally, const std::function<pqxx::result()>& lock);

}  // namespace campaignq::lab
