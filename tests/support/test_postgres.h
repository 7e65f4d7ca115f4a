#pragma once
// PostgreSQL for db and e2e tests.
//
// TestServerUrl() is CAMPAIGNQ_TEST_DATABASE_URL when set (scripts/test sets
// it to the cluster it starts). Otherwise the first call starts one
// throwaway PostgreSQL 15 cluster for this process (trust auth, 127.0.0.1, a
// free port, fsync off), which is stopped and deleted when the process exits
// - also when it is killed: a watchdog child notices the closed pipe.
// Failures abort the process with the reason: db/e2e tests fail loudly and
// never skip.

#include <cstdint>
#include <string>

namespace campaignq::testing {

// SQL that marks application `application_id` failed after 3
// attempts with `last_error` (a test's own literal: no quotes in it), as a
// worker's deterministic errors would, counting it in its campaign's
// failed_count as the worker does. Returns the application's id as its one
// row. For tests that need a failed application without a poison storm.
std::string MarkFailedSql(int64_t application_id, const std::string& last_error = "poison");

// A URL of a database on the test server that may create databases.
std::string TestServerUrl();

// Creates a new, empty, uniquely named database on the test server
// ("cq_<hint>_<pid>_<n>") and returns its URL. Nothing is migrated. The
// databases are dropped at exit unless CAMPAIGNQ_TEST_KEEP_DATABASES=1.
std::string FreshDatabaseUrl(const std::string& name_hint);

// `url` with its database replaced by `database` (URI or key=value form).
std::string UrlWithDatabase(const std::string& url, const std::string& database);

// `url` logging in as `user`, without a password (the test clusters trust
// TCP connections from 127.0.0.1): the user info of a URI replaced, or
// user=... appended to a key=value string.
std::string UrlWithUser(const std::string& url, const std::string& user);

// The URLs of campaignq's database roles (sql/roles.sql) on one database.
struct RoleUrls {
  std::string migrate;  // campaignq_migrate: runs migrations, owns the schema
  std::string server;   // campaignq_server
  std::string worker;   // campaignq_worker
};

// Applies sql/roles.sql, as the deployment's admin step does, to the
// database at `superuser_url` (a superuser's URL of it): creates the roles
// when missing and, once the database is migrated, grants on its tables
// (before that the file only says so). Run it before migrating (as
// RoleUrls::migrate) and again after. Roles are cluster-wide: runs of test
// processes sharing a cluster are serialised by an advisory lock held in
// the cluster's `postgres` database. Aborts the process on failure.
RoleUrls ApplyRoles(const std::string& superuser_url);

struct Cluster;

// A PostgreSQL 15 cluster of the test's own, apart from the shared test
// server, for fault tests that stop and restart it. Started (as the
// `postgres` user when root) on a free port by the constructor; stopped and
// deleted by the destructor, or by a watchdog if the process dies. Aborts
// the process on failure, like the rest of this file.
class OwnPostgres {
 public:
  OwnPostgres();
  ~OwnPostgres();
  OwnPostgres(const OwnPostgres&) = delete;
  OwnPostgres& operator=(const OwnPostgres&) = delete;

  // The superuser URL of its `postgres` database.
  const std::string& url() const;
  // pg_ctl stop -m immediate: every backend dies at once, as in a crash;
  // the next Start() runs crash recovery.
  void StopImmediately();
  // Starts it again on the same port.
  void Start();

 private:
  Cluster* cluster_;
};

}  // namespace campaignq::testing
