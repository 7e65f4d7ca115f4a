// db tier: campaignq's database roles (sql/roles.sql) as the admin step
// leaves them: the migrate owner migrates, and the server's and the
// worker's roles can run exactly their SQL: never DDL, never a write to
// schema_migrations, never a column their statements do not write; with a
// role-level statement_timeout and a CONNECTION LIMIT. The e2e tier runs
// the real binaries under these roles (support/stack.h).

#include <pqxx/pqxx>
#include <string>

#include "common/db/connect.h"
#include "common/db/migrator.h"
#include "gtest/gtest.h"
#include "support/test_postgres.h"

namespace campaignq::testing {
namespace {

constexpr char kDenied[] = "denied";

class RolesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    database_ = new std::string(FreshDatabaseUrl("roles"));
    roles_ = new RoleUrls(ApplyRoles(*database_));
    auto owner = db::Connect(roles_->migrate, {});
    ASSERT_TRUE(owner.ok()) << owner.status();
    ASSERT_TRUE(db::Migrate(**owner, db::MigrateMode::kAuto).ok());
    ApplyRoles(*database_);
  }

  // kDenied when `sql` is refused to `url`'s role for want of a privilege
  // (libpqxx 6.4's exec does not carry the SQLSTATE, 42501: the message
  // says it), "" when it succeeds (rolled back either way), else the error.
  static std::string StateOf(const std::string& url, const std::string& sql) {
    try {
      pqxx::connection connection(url);
      pqxx::work txn(connection);
      txn.exec(sql);
      return "";
    } catch (const std::exception& error) {
      const std::string what = error.what();
      const bool denied = what.find("permission denied") != std::string::npos ||
                          what.find("must be owner") != std::string::npos;
      return denied ? kDenied : what;
    }
  }

  static std::string Show(const std::string& url, const std::string& setting) {
    pqxx::connection connection(url);
    pqxx::nontransaction txn(connection);
    return txn.exec("SHOW " + setting)[0][0].as<std::string>();
  }

  static std::string* database_;
  static RoleUrls* roles_;
};
std::string* RolesTest::database_ = nullptr;
RoleUrls* RolesTest::roles_ = nullptr;

TEST_F(RolesTest, TheMigrateRoleOwnsTheSchema) {
  pqxx::connection connection(*database_);
  pqxx::nontransaction txn(connection);
  EXPECT_EQ(txn.exec("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' "
                     "AND tableowner <> 'campaignq_migrate'")[0][0]
                .as<int>(),
            0);
}

TEST_F(RolesTest, NeitherServiceRoleMayWriteSchemaMigrationsOrRunDdl) {
  for (const std::string* url : {&roles_->server, &roles_->worker}) {
    EXPECT_EQ(StateOf(*url, "SELECT count(*) FROM schema_migrations"), "");
    EXPECT_EQ(StateOf(*url, "INSERT INTO schema_migrations VALUES (999, 'x', 'y')"), kDenied);
    EXPECT_EQ(StateOf(*url, "UPDATE schema_migrations SET checksum = 'x'"), kDenied);
    EXPECT_EQ(StateOf(*url, "DELETE FROM schema_migrations"), kDenied);
    EXPECT_EQ(StateOf(*url, "CREATE TABLE schema_migrations_2 (x int)"), kDenied);
    EXPECT_EQ(StateOf(*url, "ALTER TABLE applications ADD COLUMN x int"), kDenied);
    EXPECT_EQ(StateOf(*url, "TRUNCATE campaigns CASCADE"), kDenied);
    // --migrate=verify still works: it only reads.
    auto connection = db::Connect(*url, {});
    ASSERT_TRUE(connection.ok()) << connection.status();
    EXPECT_TRUE(db::Migrate(**connection, db::MigrateMode::kVerify).ok());
    EXPECT_FALSE(db::Migrate(**connection, db::MigrateMode::kAuto).ok());
  }
}

TEST_F(RolesTest, TheServerWritesOnlyItsColumns) {
  const std::string& server = roles_->server;
  EXPECT_EQ(StateOf(server,
                    "INSERT INTO campaigns (name, max_participants, waitlist) "
                    "VALUES ('c', 1, true)"),
            "");
  EXPECT_EQ(StateOf(server, "INSERT INTO campaigns (name, approved_count) VALUES ('c', 5)"),
            kDenied);
  EXPECT_EQ(StateOf(server, "UPDATE campaigns SET name = 'x'"), kDenied);
  EXPECT_EQ(StateOf(server, "UPDATE campaigns SET max_participants = 1000"), kDenied);
  EXPECT_EQ(StateOf(server, "UPDATE campaigns SET status = status, closed_at = closed_at"), "");
  EXPECT_EQ(StateOf(server, "UPDATE applications SET user_id = 'someone else'"), kDenied);
  // RetryApplication resets attempts and last_error.
  EXPECT_EQ(StateOf(server, "UPDATE applications SET attempts = 0, last_error = NULL"), "");
  EXPECT_EQ(StateOf(server, "UPDATE campaigns SET paused = paused, purged_at = purged_at"), "");
  // Retention and DeleteCampaign (the SQL limits both to closed campaigns).
  EXPECT_EQ(StateOf(server, "DELETE FROM applications WHERE false"), "");
  EXPECT_EQ(StateOf(server, "DELETE FROM campaigns WHERE false"), "");
  EXPECT_EQ(StateOf(server, "UPDATE applications SET status = status, reason = reason"), "");
  EXPECT_EQ(StateOf(server, "SELECT * FROM campaign_queue_heads"), "");
}

TEST_F(RolesTest, TheWorkerDecidesButNeverCreates) {
  const std::string& worker = roles_->worker;
  EXPECT_EQ(StateOf(worker, "INSERT INTO campaigns (name) VALUES ('c')"), kDenied);
  EXPECT_EQ(StateOf(worker, "DELETE FROM applications"), kDenied);
  EXPECT_EQ(StateOf(worker, "DELETE FROM campaigns"), kDenied);
  EXPECT_EQ(StateOf(worker, "UPDATE campaigns SET paused = false"), kDenied);
  EXPECT_EQ(StateOf(worker, "UPDATE campaigns SET status = 'closed'"), kDenied);
  EXPECT_EQ(StateOf(worker,
                    "UPDATE campaigns SET approved_count = approved_count, "
                    "last_decided_at = now()"),
            "");
  EXPECT_EQ(StateOf(worker, "UPDATE applications SET user_id = 'x'"), kDenied);
  EXPECT_EQ(StateOf(worker,
                    "UPDATE applications SET status = status, attempts = attempts, "
                    "last_error = last_error, decided_at = decided_at"),
            "");
  EXPECT_EQ(StateOf(worker, "SELECT id FROM campaigns FOR NO KEY UPDATE"), "");
}

TEST_F(RolesTest, RoleSettingsAndLimits) {
  EXPECT_EQ(Show(roles_->server, "statement_timeout"), "30s");
  EXPECT_EQ(Show(roles_->worker, "statement_timeout"), "30s");
  pqxx::connection connection(*database_);
  pqxx::nontransaction txn(connection);
  const pqxx::result limits = txn.exec(
      "SELECT rolname, rolconnlimit, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles "
      "WHERE rolname LIKE 'campaignq\\_%' ORDER BY rolname");
  ASSERT_EQ(limits.size(), 3u);
  for (const auto& row : limits) {
    EXPECT_GT(row[1].as<int>(), 0) << row[0].as<std::string>();
    EXPECT_FALSE(row[2].as<bool>() || row[3].as<bool>() || row[4].as<bool>())
        << row[0].as<std::string>();
  }
}

}  // namespace
}  // namespace campaignq::testing
