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

#include <string>

namespace campaignq::testing {

// A URL of a database on the test server that may create databases.
std::string TestServerUrl();

// Creates a new, empty, uniquely named database on the test server
// ("cq_<hint>_<pid>_<n>") and returns its URL. Nothing is migrated. The
// databases are dropped at exit unless CAMPAIGNQ_TEST_KEEP_DATABASES=1.
std::string FreshDatabaseUrl(const std::string& name_hint);

// `url` with its database replaced by `database` (URI or key=value form).
std::string UrlWithDatabase(const std::string& url, const std::string& database);

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
