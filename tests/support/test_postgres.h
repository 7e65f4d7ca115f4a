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

}  // namespace campaignq::testing
