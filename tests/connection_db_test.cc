// db tier: the sessions campaignq opens keep their promises against a real
// PostgreSQL whatever the role's defaults are and across libpqxx's silent
// reconnects (common/db/connect.h, common/db/transaction.h).

#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <utility>
#include <vector>

#include "common/db/connect.h"
#include "common/db/transaction.h"
#include "gtest/gtest.h"
#include "support/test_postgres.h"

namespace campaignq {
namespace {

std::unique_ptr<db::Connection> MustConnect(const std::string& url, db::ConnectOptions options) {
  auto connection = db::Connect(url, options);
  EXPECT_TRUE(connection.ok()) << connection.status();
  if (!connection.ok()) std::abort();
  return *std::move(connection);
}

std::string Show(db::Connection& connection, const std::string& setting) {
  db::ReadCommittedTransaction txn(connection);
  return txn.exec_params("SELECT current_setting($1)", setting)[0][0].as<std::string>();
}

// libpqxx's transaction<read_committed> sends a bare BEGIN, which would run
// at the database's default: campaignq's must say READ COMMITTED itself.
TEST(Connection, TransactionsAreReadCommittedWhateverTheDefault) {
  const std::string url = testing::FreshDatabaseUrl("isolation");
  {
    pqxx::connection admin(url);
    pqxx::nontransaction txn(admin);
    txn.exec("ALTER DATABASE " + txn.quote_name(admin.dbname()) +
             " SET default_transaction_isolation = 'serializable'");
  }
  auto connection = MustConnect(url, {});
  {
    pqxx::work plain(*connection);
    EXPECT_EQ(plain.exec("SHOW transaction_isolation")[0][0].as<std::string>(), "serializable")
        << "the hostile default is not in effect: the test proves nothing";
  }
  EXPECT_EQ(Show(*connection, "transaction_isolation"), "read committed");
}

// An acknowledged commit must survive a crash: campaignq's transactions
// commit synchronously even where the database's default says off, and
// keep a stronger setting (remote_apply, for synchronous replicas) as is.
TEST(Connection, TransactionsCommitSynchronouslyWhateverTheDefault) {
  const std::string url = testing::FreshDatabaseUrl("durability");
  for (const auto& [configured, expected] : std::vector<std::pair<std::string, std::string>>{
           {"off", "on"}, {"local", "on"}, {"remote_apply", "remote_apply"}}) {
    {
      pqxx::connection admin(url);
      pqxx::nontransaction txn(admin);
      txn.exec("ALTER DATABASE " + txn.quote_name(admin.dbname()) +
               " SET synchronous_commit = " + txn.quote(configured));
    }
    auto connection = MustConnect(url, {});
    EXPECT_EQ(Show(*connection, "synchronous_commit"), expected) << "configured " << configured;
  }
}

// A session setting made with SET is lost when libpqxx silently reconnects
// (PQreset before a BEGIN); campaignq's are in the startup packet, so a
// worker that later freezes inside a transaction is still ended by
// idle_in_transaction_session_timeout.
TEST(Connection, SessionSettingsSurviveASilentReconnect) {
  const std::string url = testing::FreshDatabaseUrl("reconnect");
  db::ConnectOptions options;
  options.application_name = "campaignq-test-reconnect";
  options.idle_in_transaction_timeout_ms = 4321;
  auto connection = MustConnect(url, options);
  const int pid_before = connection->backendpid();
  EXPECT_EQ(Show(*connection, "idle_in_transaction_session_timeout"), "4321ms");

  pqxx::connection admin(url);
  pqxx::nontransaction(admin).exec_params("SELECT pg_terminate_backend($1)", pid_before);

  // The first uses after the kill fail while libpqxx notices and resets
  // (how many depends on where it notices); then the session is a new one.
  std::string timeout;
  for (int use = 0; use < 5 && timeout.empty(); ++use) {
    try {
      timeout = Show(*connection, "idle_in_transaction_session_timeout");
    } catch (const pqxx::broken_connection&) {
    }
  }
  ASSERT_NE(connection->backendpid(), pid_before) << "no reconnect happened";
  EXPECT_EQ(timeout, "4321ms");
  EXPECT_EQ(Show(*connection, "application_name"), "campaignq-test-reconnect");
}

// In pooler-safe mode statements are sent unprepared with their parameters,
// and nothing is put in the startup packet (PgBouncer would refuse it).
TEST(Connection, PoolerSafeConnectionsRunStatementsUnprepared) {
  const std::string url = testing::FreshDatabaseUrl("pooler_safe");
  db::ConnectOptions options;
  options.pooler_safe = true;
  auto connection = MustConnect(url, options);
  EXPECT_TRUE(connection->pooler_safe());
  EXPECT_EQ(Show(*connection, "idle_in_transaction_session_timeout"), "0");
  db::ReadCommittedTransaction txn(*connection);
  EXPECT_TRUE(txn.pooler_safe());
  EXPECT_EQ(txn.exec("SELECT count(*) FROM pg_prepared_statements")[0][0].as<int>(), 0);
}

}  // namespace
}  // namespace campaignq
