// db tier: real PostgreSQL errors become the statuses the retry logic
// relies on (common/db/pg_status.h). libpqxx 6.4 throws serialization
// failures and deadlocks without a SQLSTATE; they must still be ABORTED
// (transient) with the right state, or a worker would fail applications
// over a conflict.

#include "common/db/pg_status.h"

#include <future>
#include <memory>
#include <pqxx/pqxx>
#include <string>

#include "gtest/gtest.h"
#include "support/test_postgres.h"

namespace campaignq {
namespace {

class PgStatusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = testing::FreshDatabaseUrl("pg_status");
    pqxx::connection setup(url_);
    pqxx::work txn(setup);
    txn.exec("CREATE TABLE rows (id int PRIMARY KEY, n int NOT NULL)");
    txn.exec("INSERT INTO rows VALUES (1, 0), (2, 0)");
    txn.commit();
  }

  // Runs `statement` in `txn`; the status its failure maps to (OK if none).
  static absl::Status Try(pqxx::transaction_base& txn, const std::string& statement) {
    try {
      txn.exec(statement);
      return absl::OkStatus();
    } catch (const std::exception& error) {
      return db::StatusFromException(error);
    }
  }

  std::string url_;
};

TEST_F(PgStatusTest, SerializationFailureIsTransient40001) {
  pqxx::connection first(url_), second(url_);
  pqxx::transaction<pqxx::serializable> reader(first);
  reader.exec("SELECT n FROM rows WHERE id = 1");  // takes the snapshot
  {
    pqxx::work writer(second);
    writer.exec("UPDATE rows SET n = n + 1 WHERE id = 1");
    writer.commit();
  }
  const absl::Status status = Try(reader, "UPDATE rows SET n = n + 1 WHERE id = 1");
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted) << status;
  EXPECT_EQ(db::SqlState(status), db::kSqlstateSerializationFailure);
  EXPECT_TRUE(db::IsTransient(status));
}

TEST_F(PgStatusTest, DeadlockIsTransient40P01) {
  pqxx::connection first(url_), second(url_);
  pqxx::work one(first), two(second);
  one.exec("SET LOCAL deadlock_timeout = '100ms'");
  two.exec("SET LOCAL deadlock_timeout = '100ms'");
  one.exec("UPDATE rows SET n = 1 WHERE id = 1");
  two.exec("UPDATE rows SET n = 2 WHERE id = 2");
  // Opposite orders: whichever waits longest is chosen as the victim.
  auto one_result = std::async(std::launch::async,
                               [&] { return Try(one, "UPDATE rows SET n = 1 WHERE id = 2"); });
  const absl::Status two_status = Try(two, "UPDATE rows SET n = 2 WHERE id = 1");
  if (!two_status.ok()) two.abort();  // lets the survivor proceed
  const absl::Status one_status = one_result.get();
  const absl::Status& victim = one_status.ok() ? two_status : one_status;
  EXPECT_NE(one_status.ok(), two_status.ok()) << one_status << " / " << two_status;
  EXPECT_EQ(victim.code(), absl::StatusCode::kAborted) << victim;
  EXPECT_EQ(db::SqlState(victim), db::kSqlstateDeadlockDetected);
  EXPECT_TRUE(db::IsTransient(victim));
}

TEST_F(PgStatusTest, UniqueViolationIsAlreadyExists) {
  pqxx::connection connection(url_);
  pqxx::work txn(connection);
  const absl::Status status = Try(txn, "INSERT INTO rows VALUES (1, 0)");
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists) << status;
  EXPECT_EQ(db::SqlState(status), db::kSqlstateUniqueViolation);
  EXPECT_FALSE(db::IsTransient(status));
}

// Resource faults of the database (disk full, out of memory, I/O) and
// internal errors are never charged to the application being decided: a
// short fault would otherwise fail innocent applications one after another.
// Errors about the rows themselves (a trigger's RAISE, a constraint) are.
TEST_F(PgStatusTest, OnlyErrorsAboutTheRowsAreChargeableToAnApplication) {
  pqxx::connection connection(url_);
  for (const char* state : {"53100", "53200", "58030", "XX000", "57014", "55P03", "42P01"}) {
    pqxx::work txn(connection);
    const absl::Status status =
        Try(txn, std::string("DO $$ BEGIN RAISE EXCEPTION 'fault' USING ERRCODE = '") + state +
                     "'; END $$");
    EXPECT_EQ(db::SqlState(status), state);
    EXPECT_FALSE(db::IsChargeableToApplication(status)) << status;
  }
  for (const char* state : {"P0001", "22012", "23514"}) {
    pqxx::work txn(connection);
    const absl::Status status =
        Try(txn, std::string("DO $$ BEGIN RAISE EXCEPTION 'bad row' USING ERRCODE = '") + state +
                     "'; END $$");
    EXPECT_TRUE(db::IsChargeableToApplication(status)) << status;
    EXPECT_FALSE(db::IsTransient(status)) << status;
  }
}

TEST_F(PgStatusTest, ResourceFaultsAreUnavailableButKeepTheSession) {
  pqxx::connection connection(url_);
  for (const char* state : {"53100", "53200", "58030"}) {
    pqxx::work txn(connection);
    const absl::Status status =
        Try(txn, std::string("DO $$ BEGIN RAISE EXCEPTION 'fault' USING ERRCODE = '") + state +
                     "'; END $$");
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
    EXPECT_TRUE(db::IsTransient(status));
    EXPECT_FALSE(db::IsConnectionLost(status)) << status;
  }
  pqxx::work txn(connection);
  const absl::Status read_only =
      Try(txn, "DO $$ BEGIN RAISE EXCEPTION 'standby' USING ERRCODE = '25006'; END $$");
  EXPECT_TRUE(db::IsConnectionLost(read_only)) << read_only;
}

// A statement_timeout is ABORTED (retried, never charged), like a lock
// refused: the worker shrinks its batch instead.
TEST_F(PgStatusTest, StatementTimeoutIsAbortedWithItsState) {
  pqxx::connection connection(url_);
  pqxx::work txn(connection);
  txn.exec("SET LOCAL statement_timeout = '10ms'");
  const absl::Status status = Try(txn, "SELECT pg_sleep(1)");
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted) << status;
  EXPECT_EQ(db::SqlState(status), db::kSqlstateQueryCanceled);
}

// libpqxx throws a bare pqxx::failure when it cannot reset a broken
// connection: that is the database being away, UNAVAILABLE, not INTERNAL.
TEST(PgStatus, BareLibpqxxFailureIsUnavailable) {
  const absl::Status status = db::StatusFromException(pqxx::failure("could not reset"));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_TRUE(db::IsConnectionLost(status));
}

}  // namespace
}  // namespace campaignq
