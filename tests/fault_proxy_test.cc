// db tier: the fault tier's TCP proxy (support/fault_proxy.h) against a real
// PostgreSQL through libpqxx 6.4, the way campaignq's processes talk to it.
// What each fault looks like to a libpqxx client is what the fault-tier
// scenarios rely on: a COMMIT cut after forwarding is committed on the server
// while the client gets pqxx::in_doubt_error; a cut idle connection throws
// pqxx::broken_connection on its next statement; a black hole stalls without
// failing and resumes when lifted.

#include "support/fault_proxy.h"

#include <chrono>
#include <future>
#include <memory>
#include <pqxx/pqxx>
#include <string>

#include "gtest/gtest.h"
#include "support/test_postgres.h"

namespace campaignq::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class FaultProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = FreshDatabaseUrl("fault_proxy");
    {
      pqxx::connection setup(url_);
      pqxx::work txn(setup);
      txn.exec("CREATE TABLE rows (id int PRIMARY KEY)");
      txn.commit();
    }
    absl::StatusOr<FaultProxy::HostPort> server = FaultProxy::ServerOf(url_);
    ASSERT_TRUE(server.ok()) << server.status();
    proxy_ = std::make_unique<FaultProxy>(server->host, server->port);
    absl::StatusOr<int> port = proxy_->Start();
    ASSERT_TRUE(port.ok()) << port.status();
    ASSERT_EQ(*port, proxy_->port());
  }

  // A conninfo for the test database through the proxy, plus `extra`
  // (key=value settings; later ones win). Clear text, so that the proxy can
  // follow the protocol even if the server offers TLS.
  std::string Proxied(const std::string& extra = "") const {
    absl::StatusOr<std::string> conninfo = proxy_->Through(url_);
    EXPECT_TRUE(conninfo.ok()) << conninfo.status();
    return conninfo.value_or("") + " sslmode=disable " + extra;
  }

  // How many rows with `id` a direct connection sees.
  int CountDirectly(int id) const {
    pqxx::connection direct(url_);
    pqxx::nontransaction txn(direct);
    return txn.exec1("SELECT count(*) FROM rows WHERE id = " + txn.quote(id))[0].as<int>();
  }

  // Inserts `id` through `connection` and commits.
  static void InsertAndCommit(pqxx::connection& connection, int id) {
    pqxx::work txn(connection);
    txn.exec("INSERT INTO rows VALUES (" + txn.quote(id) + ")");
    txn.commit();
  }

  std::string url_;
  std::unique_ptr<FaultProxy> proxy_;
};

TEST_F(FaultProxyTest, ForwardsQueriesAndResults) {
  std::string database;
  {
    pqxx::connection direct(url_);
    database = direct.dbname();
  }
  // sslmode=prefer opens with an SSLRequest the proxy relays the answer to.
  for (const std::string ssl : {"sslmode=disable", "sslmode=prefer"}) {
    SCOPED_TRACE(ssl);
    pqxx::connection connection(Proxied(ssl));
    pqxx::nontransaction txn(connection);
    EXPECT_EQ(txn.exec1("SELECT current_database()")[0].as<std::string>(), database);
    // More than one read's worth both ways.
    const std::string big(200000, 'x');
    EXPECT_EQ(txn.exec1("SELECT length(" + txn.quote(big) + ")")[0].as<size_t>(), big.size());
  }
  EXPECT_EQ(proxy_->counters().accepted, 2);
  EXPECT_TRUE(
      proxy_->WaitFor([](const auto& counters) { return counters.open == 0; }, seconds(10)));
}

TEST_F(FaultProxyTest, CutAfterCommitCommitsButLeavesTheClientInDoubt) {
  proxy_->CutAfterCommit(1);
  pqxx::connection connection(Proxied());
  EXPECT_THROW(InsertAndCommit(connection, 1), pqxx::in_doubt_error);
  // The server committed before the client saw its connection die.
  EXPECT_EQ(CountDirectly(1), 1);
  EXPECT_EQ(proxy_->counters().commits_seen, 1);
  EXPECT_EQ(proxy_->counters().commits_cut, 1);

  // The budget is spent: the next commit goes through.
  pqxx::connection next(Proxied());
  InsertAndCommit(next, 2);
  EXPECT_EQ(CountDirectly(2), 1);
  EXPECT_EQ(proxy_->counters().commits_seen, 2);
  EXPECT_EQ(proxy_->counters().commits_cut, 1);
}

TEST_F(FaultProxyTest, CutAfterCommitTargetsAnApplicationNamePrefix) {
  proxy_->CutAfterCommit(1, "campaignq-worker");
  pqxx::connection server(Proxied("application_name=campaignq-server"));
  pqxx::connection worker(Proxied("application_name=campaignq-worker-7"));
  InsertAndCommit(server, 1);
  EXPECT_THROW(InsertAndCommit(worker, 2), pqxx::in_doubt_error);
  EXPECT_EQ(CountDirectly(1), 1);
  EXPECT_EQ(CountDirectly(2), 1);
  EXPECT_TRUE(proxy_->WaitFor(
      [](const auto& counters) { return counters.commits_seen == 2 && counters.commits_cut == 1; },
      seconds(10)));
}

TEST_F(FaultProxyTest, CutAfterCommitRecognisesAnExtendedProtocolCommit) {
  proxy_->CutAfterCommit(1);
  pqxx::connection connection(Proxied());
  connection.prepare("commit_now", "  commit");  // Parse/Bind/Execute/Sync
  pqxx::nontransaction txn(connection);
  txn.exec("BEGIN");
  txn.exec("INSERT INTO rows VALUES (1)");
  // Not a pqxx transaction's commit: libpqxx reports the lost connection.
  EXPECT_THROW(txn.exec_prepared("commit_now"), pqxx::broken_connection);
  EXPECT_EQ(CountDirectly(1), 1);
  EXPECT_EQ(proxy_->counters().commits_cut, 1);
}

TEST_F(FaultProxyTest, CutAllBreaksAnIdleConnection) {
  pqxx::connection connection(Proxied());
  pqxx::nontransaction txn(connection);
  EXPECT_EQ(txn.exec1("SELECT 1")[0].as<int>(), 1);
  proxy_->CutAll();
  EXPECT_EQ(proxy_->counters().cut, 1);
  EXPECT_EQ(proxy_->counters().open, 0);
  EXPECT_THROW(txn.exec("SELECT 1"), pqxx::broken_connection);
  // Only the open pairs were cut.
  pqxx::connection next(Proxied());
  InsertAndCommit(next, 1);
  EXPECT_EQ(CountDirectly(1), 1);
}

TEST_F(FaultProxyTest, BlackholeStallsUntilLifted) {
  pqxx::connection connection(Proxied());
  pqxx::nontransaction txn(connection);
  EXPECT_EQ(txn.exec1("SELECT 1")[0].as<int>(), 1);

  proxy_->BlackholeAll(true);
  auto stalled =
      std::async(std::launch::async, [&] { return txn.exec1("SELECT 2 + 3")[0].as<int>(); });
  // A statement-level bound: a black-holed query makes no progress.
  EXPECT_EQ(stalled.wait_for(milliseconds(500)), std::future_status::timeout);
  // New connections stall in their startup (libpq's shortest connect_timeout).
  EXPECT_THROW(pqxx::connection{Proxied("connect_timeout=2")}, pqxx::broken_connection);

  proxy_->BlackholeAll(false);
  const bool resumed = stalled.wait_for(seconds(10)) == std::future_status::ready;
  if (!resumed) proxy_->CutAll();  // so that the stalled query, and the test, end
  ASSERT_TRUE(resumed);
  EXPECT_EQ(stalled.get(), 5);
  pqxx::connection next(Proxied());
  InsertAndCommit(next, 1);
  EXPECT_EQ(CountDirectly(1), 1);
}

TEST_F(FaultProxyTest, RefuseNewClosesNewConnectionsOnly) {
  pqxx::connection open(Proxied());
  proxy_->RefuseNew(true);
  EXPECT_THROW(pqxx::connection{Proxied()}, pqxx::broken_connection);
  EXPECT_EQ(proxy_->counters().refused, 1);
  InsertAndCommit(open, 1);  // an open connection is left alone
  proxy_->RefuseNew(false);
  pqxx::connection next(Proxied());
  InsertAndCommit(next, 2);
  EXPECT_EQ(CountDirectly(1) + CountDirectly(2), 2);
}

TEST_F(FaultProxyTest, StopIsIdempotentAndCutsConnections) {
  pqxx::connection connection(Proxied());
  pqxx::nontransaction txn(connection);
  EXPECT_EQ(txn.exec1("SELECT 1")[0].as<int>(), 1);
  proxy_->Stop();
  proxy_->Stop();
  EXPECT_THROW(txn.exec("SELECT 1"), pqxx::broken_connection);
  EXPECT_FALSE(proxy_->Start().ok());
}

}  // namespace
}  // namespace campaignq::testing
