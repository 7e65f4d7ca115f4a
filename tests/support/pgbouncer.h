#pragma once
// A real PgBouncer in transaction pooling in front of the test PostgreSQL,
// for the pooler-safe mode's tests.

#include <memory>
#include <string>

#include "common/verify/process.h"
#include "support/temp_dir.h"

namespace campaignq::testing {

using verify::Process;

class PgBouncer {
 public:
  // Starts /usr/sbin/pgbouncer (as the postgres user when root) on a free
  // port, pool_mode = transaction, every database of the test server behind
  // it, and waits until it accepts connections. Fails the test otherwise.
  PgBouncer();
  ~PgBouncer();  // stops it

  // `direct_url` (a database on the test server) as reached through PgBouncer.
  std::string Through(const std::string& direct_url) const;
  // Transactions PgBouncer has served (SHOW STATS, all databases).
  int64_t TransactionsServed() const;

 private:
  void Start();  // a void function, so that it may ASSERT

  ScopedTestDir dir_;
  int port_ = 0;
  std::string user_;
  std::unique_ptr<Process> process_;
};

}  // namespace campaignq::testing
