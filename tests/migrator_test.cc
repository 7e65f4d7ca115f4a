// db tier: db::Migrate against real PostgreSQL.

#include "common/db/migrator.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <pqxx/pqxx>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "common/db/connect.h"
#include "common/sql/statement.h"
#include "gtest/gtest.h"
#include "statements.h"
#include "support/poll.h"
#include "support/test_postgres.h"

namespace campaignq {
namespace {

using testing::Deadline;
using testing::FreshDatabaseUrl;
using testing::PollUntil;

std::unique_ptr<db::Connection> MustConnect(const std::string& url) {
  auto connection = db::Connect(url, {});
  EXPECT_TRUE(connection.ok()) << connection.status();
  if (!connection.ok()) std::abort();
  return *std::move(connection);
}

std::vector<std::pair<int, std::string>> RecordedVersions(pqxx::connection& connection) {
  pqxx::nontransaction txn(connection);
  std::vector<std::pair<int, std::string>> versions;
  for (const auto& row :
       txn.exec("SELECT version, checksum FROM schema_migrations ORDER BY version")) {
    versions.emplace_back(row[0].as<int>(), row[1].as<std::string>());
  }
  return versions;
}

std::vector<std::pair<int, std::string>> EmbeddedVersions() {
  std::vector<std::pair<int, std::string>> versions;
  for (const auto& migration : db::EmbeddedMigrations()) {
    versions.emplace_back(migration.version, migration.checksum);
  }
  return versions;
}

// Applies the embedded migrations up to and including `last` as the
// migrator would have when it had no more: a database of an earlier build.
void MigrateByHandThrough(const std::string& url, int last) {
  pqxx::connection connection(url);
  pqxx::work txn(connection);
  txn.exec(sql::StatementText(sql::kMigrationLock));
  txn.exec(sql::StatementText(sql::kMigrationCreateTable));
  for (const db::Migration& migration : db::EmbeddedMigrations()) {
    if (migration.version > last) break;
    txn.exec(migration.sql);
    txn.exec_params(sql::StatementText(sql::kMigrationRecord), migration.version, migration.name,
                    migration.checksum);
  }
  txn.commit();
}

std::vector<int> Versions(const std::string& url) {
  pqxx::connection connection(url);
  std::vector<int> versions;
  for (const auto& [version, checksum] : RecordedVersions(connection)) versions.push_back(version);
  return versions;
}

std::vector<int> VersionsThrough(int last) {
  std::vector<int> versions;
  for (int version = 1; version <= last; ++version) versions.push_back(version);
  return versions;
}

bool HasDecisionCounters(const std::string& url) {
  pqxx::connection connection(url);
  pqxx::nontransaction txn(connection);
  return txn
      .exec(
          "SELECT count(*) > 0 FROM information_schema.columns "
          "WHERE table_name = 'campaigns' AND column_name = 'rejected_count'")[0][0]
      .as<bool>();
}

// A campaignq process's session, connected the way its pool connects
// (db::Connect, application_name in the startup packet), so
// pg_stat_activity shows it as it shows a running worker of 0.3.0.
std::unique_ptr<db::Connection> ConnectAs(const std::string& url, const std::string& name) {
  db::ConnectOptions options;
  options.application_name = name;
  auto connection = db::Connect(url, options);
  EXPECT_TRUE(connection.ok()) << connection.status();
  if (!connection.ok()) std::abort();
  return *std::move(connection);
}

// Waits until the backend `pid` has left pg_stat_activity: closing a
// connection ends its backend asynchronously.
bool BackendGone(const std::string& url, int pid) {
  pqxx::connection observer(url);
  return PollUntil(
      [&] {
        pqxx::nontransaction look(observer);
        return look.exec_params("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid)[0][0]
                   .as<int>() == 0;
      },
      Deadline(std::chrono::seconds(30)));
}

// Releases every waiting thread at once when the last one arrives.
class StartLine {
 public:
  explicit StartLine(int count) : remaining_(count) {}
  void ArriveAndWait() {
    std::unique_lock<std::mutex> lock(mutex_);
    if (--remaining_ == 0) {
      go_.notify_all();
      return;
    }
    go_.wait(lock, [this] { return remaining_ == 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable go_;
  int remaining_;
};

// A verify started while a migrate step is running (here: an open
// transaction that holds the migration lock and has applied everything but
// not committed yet) waits for it and then passes, instead of reporting
// "not applied" and exiting in the middle of a rollout.
TEST(Migrator, VerifyWaitsForAMigrateInProgress) {
  const std::string url = FreshDatabaseUrl("migrate_verify_waits");
  auto migrating = MustConnect(url);
  pqxx::work migration(*migrating);
  migration.exec(sql::StatementText(sql::kMigrationLock));
  migration.exec(sql::StatementText(sql::kMigrationCreateTable));
  for (const db::Migration& applied : db::EmbeddedMigrations()) {
    migration.exec(applied.sql);
    migration.exec_params(sql::StatementText(sql::kMigrationRecord), applied.version, applied.name,
                          applied.checksum);
  }

  auto verifying = MustConnect(url);
  const int verifier_pid = verifying->backendpid();
  absl::Status verified;
  std::thread verifier([&] { verified = db::Migrate(*verifying, db::MigrateMode::kVerify); });
  // Proceed once the verifier is seen waiting for the lock (observed, not
  // slept on), then let the migration commit.
  auto observer = MustConnect(url);
  bool waiting = false;
  for (const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
       !waiting && std::chrono::steady_clock::now() < deadline;) {
    pqxx::nontransaction look(*observer);
    waiting =
        look.exec_params("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1",
                         verifier_pid)[0][0]
            .as<bool>(false);
  }
  EXPECT_TRUE(waiting) << "verify did not wait for the migration lock";
  migration.commit();
  verifier.join();
  EXPECT_TRUE(verified.ok()) << verified;
}

TEST(Migrator, TenProcessesMigratingAtOnceAllSucceedAndApplyEachVersionOnce) {
  const std::string url = FreshDatabaseUrl("migrate_concurrent");
  constexpr int kThreads = 10;
  // Connect first, so the threads race in Migrate and not in connecting.
  std::vector<std::unique_ptr<db::Connection>> connections;
  for (int i = 0; i < kThreads; ++i) connections.push_back(MustConnect(url));
  StartLine start(kThreads);
  std::vector<absl::Status> results(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.ArriveAndWait();
      results[i] = db::Migrate(*connections[i], db::MigrateMode::kAuto);
    });
  }
  for (auto& thread : threads) thread.join();
  for (int i = 0; i < kThreads; ++i)
    EXPECT_TRUE(results[i].ok()) << "thread " << i << ": " << results[i];

  auto check = MustConnect(url);
  EXPECT_EQ(RecordedVersions(*check), EmbeddedVersions());
  pqxx::nontransaction txn(*check);
  EXPECT_EQ(txn.exec("SELECT count(*) FROM schema_migrations")[0][0].as<int>(),
            static_cast<int>(db::EmbeddedMigrations().size()));
  // The schema is there and usable.
  EXPECT_TRUE(txn.exec("SELECT to_regclass('campaigns') IS NOT NULL AND "
                       "to_regclass('applications') IS NOT NULL")[0][0]
                  .as<bool>());
}

TEST(Migrator, VerifyOnAnEmptyDatabaseFailsWithFailedPrecondition) {
  auto connection = MustConnect(FreshDatabaseUrl("migrate_verify_empty"));
  const absl::Status status = db::Migrate(*connection, db::MigrateMode::kVerify);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  // Verify changed nothing.
  pqxx::nontransaction txn(*connection);
  EXPECT_FALSE(txn.exec("SELECT to_regclass('schema_migrations') IS NOT NULL")[0][0].as<bool>());
}

TEST(Migrator, OffDoesNothing) {
  auto connection = MustConnect(FreshDatabaseUrl("migrate_off"));
  EXPECT_TRUE(db::Migrate(*connection, db::MigrateMode::kOff).ok());
  pqxx::nontransaction txn(*connection);
  EXPECT_FALSE(txn.exec("SELECT to_regclass('schema_migrations') IS NOT NULL")[0][0].as<bool>());
}

TEST(Migrator, VerifyPassesAfterAutoAndAutoIsIdempotent) {
  auto connection = MustConnect(FreshDatabaseUrl("migrate_verify_after"));
  ASSERT_TRUE(db::Migrate(*connection, db::MigrateMode::kAuto).ok());
  EXPECT_TRUE(db::Migrate(*connection, db::MigrateMode::kVerify).ok());
  EXPECT_TRUE(db::Migrate(*connection, db::MigrateMode::kAuto).ok());
  EXPECT_EQ(RecordedVersions(*connection), EmbeddedVersions());
}

TEST(Migrator, VerifyAndAutoRefuseAnEditedMigration) {
  auto connection = MustConnect(FreshDatabaseUrl("migrate_edited"));
  ASSERT_TRUE(db::Migrate(*connection, db::MigrateMode::kAuto).ok());
  {
    pqxx::work txn(*connection);
    txn.exec("UPDATE schema_migrations SET checksum = 'feedfacefeedface' WHERE version = 1");
    txn.commit();
  }
  for (auto mode : {db::MigrateMode::kVerify, db::MigrateMode::kAuto}) {
    const absl::Status status = db::Migrate(*connection, mode);
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
    EXPECT_TRUE(absl::StrContains(status.message(), "different text")) << status;
  }
}

TEST(Migrator, VerifyAndAutoRefuseAnUnknownNewerVersion) {
  auto connection = MustConnect(FreshDatabaseUrl("migrate_newer"));
  ASSERT_TRUE(db::Migrate(*connection, db::MigrateMode::kAuto).ok());
  {
    pqxx::work txn(*connection);
    txn.exec(
        "INSERT INTO schema_migrations (version, name, checksum) VALUES (9999, 'future', 'x')");
    txn.commit();
  }
  for (auto mode : {db::MigrateMode::kVerify, db::MigrateMode::kAuto}) {
    const absl::Status status = db::Migrate(*connection, mode);
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
    EXPECT_TRUE(absl::StrContains(status.message(), "9999")) << status;
  }
}

// Migration 0007 builds applications_by_user inside the migrator's
// transaction (a SHARE lock: writes wait). Its comment tells a large
// installation to build the index first with CREATE INDEX CONCURRENTLY;
// the migration then keeps that index, and refuses an invalid one (what a
// failed concurrent build leaves) until it is dropped.
TEST(Migrator, ApplicationsByUserMayBePrebuiltConcurrentlyButNotLeftInvalid) {
  const std::string url = FreshDatabaseUrl("migrate_prebuilt_index");
  auto connection = MustConnect(url);
  ASSERT_TRUE(db::Migrate(*connection, db::MigrateMode::kAuto).ok());
  pqxx::connection admin(url);  // the operator's session
  const auto run = [&](const std::string& statement) {
    pqxx::nontransaction txn(admin);
    return txn.exec(statement);
  };
  const auto back_to_6 = [&] {
    run("DROP INDEX IF EXISTS applications_by_user");
    run("DELETE FROM schema_migrations WHERE version = 7");
  };
  const auto index_oid = [&] {
    return run("SELECT coalesce(to_regclass('applications_by_user')::oid, 0)")[0][0].as<int64_t>();
  };
  run("INSERT INTO campaigns (name) VALUES ('c')");
  run("INSERT INTO applications (campaign_id, user_id) VALUES (1, 'a'), (1, 'b')");

  back_to_6();
  run("CREATE INDEX CONCURRENTLY applications_by_user ON applications (user_id, id)");
  const int64_t prebuilt = index_oid();
  ASSERT_TRUE(db::Migrate(*connection, db::MigrateMode::kAuto).ok());
  EXPECT_EQ(index_oid(), prebuilt) << "the migration rebuilt the prebuilt index";

  // A concurrent build that fails (here: duplicates under UNIQUE) leaves
  // an invalid index behind under the name.
  back_to_6();
  EXPECT_THROW(
      run("CREATE UNIQUE INDEX CONCURRENTLY applications_by_user ON applications (campaign_id)"),
      pqxx::sql_error);
  ASSERT_NE(index_oid(), 0);
  const absl::Status refused = db::Migrate(*connection, db::MigrateMode::kAuto);
  EXPECT_FALSE(refused.ok());
  EXPECT_TRUE(absl::StrContains(refused.message(), "applications_by_user is invalid")) << refused;
  EXPECT_EQ(RecordedVersions(*connection).size(), EmbeddedVersions().size() - 1);

  run("DROP INDEX CONCURRENTLY applications_by_user");
  ASSERT_TRUE(db::Migrate(*connection, db::MigrateMode::kAuto).ok());
  EXPECT_EQ(RecordedVersions(*connection), EmbeddedVersions());
  EXPECT_TRUE(
      run("SELECT indisvalid FROM pg_index WHERE indexrelid = 'applications_by_user'::regclass")
          [0][0]
              .as<bool>());
}

// The rollout's stop step, enforced: a database of 0.3.0's predecessor (at
// 0003) with a worker of that build still connected. Migrating it to
// latest would apply stop-first migrations (0004's counters, which that
// worker does not maintain) under it, so the migrate step refuses, names
// the migrations and the worker, and applies nothing. As in production,
// the migrate step runs as campaignq_migrate and the worker as
// campaignq_worker: pg_stat_activity shows another role's sessions with
// their application_name but without address or start.
TEST(Migrator, StopFirstMigrationRefusedWhileAWorkerOfTheEarlierBuildRuns) {
  const std::string url = FreshDatabaseUrl("migrate_stop_first");
  const testing::RoleUrls roles = testing::ApplyRoles(url);
  // (roles.sql grants on the latest schema's columns, so it is not run
  // again here: connecting needs none of them.)
  MigrateByHandThrough(roles.migrate, 3);

  auto worker = ConnectAs(roles.worker, "campaignq-worker");
  const int worker_pid = worker->backendpid();
  auto migrating = MustConnect(roles.migrate);
  const absl::Status refused = db::Migrate(*migrating, db::MigrateMode::kAuto);
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
  for (const std::string& named :
       {std::string("migrations 4 (decision_counters), 6 (closing_is_final), 8 (holds) and 9 "
                    "(queue_order)"),
        std::string("decision counters"), std::string("1 campaignq process uses this database"),
        absl::StrCat("campaignq-worker (pid ", worker_pid, ", user campaignq_worker"),
        std::string("address and start hidden from this role"), std::string("docs/deploy.md"),
        std::string("--migrate-with-running-processes")}) {
    EXPECT_TRUE(absl::StrContains(refused.message(), named)) << named << "\n" << refused;
  }
  EXPECT_EQ(Versions(url), VersionsThrough(3));
  EXPECT_FALSE(HasDecisionCounters(url));

  // Stopped (here: disconnected), the worker no longer holds it back.
  worker.reset();
  ASSERT_TRUE(BackendGone(url, worker_pid));
  const absl::Status migrated = db::Migrate(*migrating, db::MigrateMode::kAuto);
  EXPECT_TRUE(migrated.ok()) << migrated;
  EXPECT_EQ(RecordedVersions(*migrating), EmbeddedVersions());
}

// A worker whose sessions are all down at that moment (reconnecting after
// a database restart) still beats into worker_heartbeats (0003): a recent
// beat without a clean stop counts as running; a clean stop, or a beat
// older than three intervals (a worker killed long ago), does not.
TEST(Migrator, StopFirstMigrationRefusedWhileAWorkerHeartbeatIsRecent) {
  const std::string url = FreshDatabaseUrl("migrate_stop_first_beat");
  MigrateByHandThrough(url, 3);
  pqxx::connection admin(url);
  {
    pqxx::nontransaction txn(admin);
    txn.exec(
        "INSERT INTO worker_heartbeats (worker_id, host, pid, lock_mode, threads, interval_ms, "
        "started_at) VALUES ('w1:77:1', 'w1', 77, 'skip-locked', 4, 600000, clock_timestamp()), "
        "('w2:78:1', 'w2', 78, 'skip-locked', 4, 2000, clock_timestamp())");
    txn.exec(
        "UPDATE worker_heartbeats SET last_seen_at = clock_timestamp() - interval '7 s' "
        "WHERE worker_id = 'w2:78:1'");
  }
  auto migrating = MustConnect(url);
  const absl::Status refused = db::Migrate(*migrating, db::MigrateMode::kAuto);
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
  EXPECT_TRUE(absl::StrContains(refused.message(), "1 campaignq process uses")) << refused;
  EXPECT_TRUE(absl::StrContains(refused.message(), "worker w1:77:1 (heartbeat at ")) << refused;
  EXPECT_EQ(Versions(url), VersionsThrough(3));

  {
    pqxx::nontransaction txn(admin);
    txn.exec("UPDATE worker_heartbeats SET stopped_at = clock_timestamp()");
  }
  const absl::Status migrated = db::Migrate(*migrating, db::MigrateMode::kAuto);
  EXPECT_TRUE(migrated.ok()) << migrated;
  EXPECT_EQ(RecordedVersions(*migrating), EmbeddedVersions());
}

// --migrate-with-running-processes: the operator knows better (say, the
// sessions are of this release, or of a tool that only reads).
TEST(Migrator, WithRunningProcessesAppliesStopFirstMigrationsAnyway) {
  const std::string url = FreshDatabaseUrl("migrate_stop_first_override");
  MigrateByHandThrough(url, 3);
  auto worker = ConnectAs(url, "campaignq-worker");
  auto migrating = MustConnect(url);
  const absl::Status migrated =
      db::Migrate(*migrating, db::MigrateMode::kAuto, db::WhileRunning::kApply);
  EXPECT_TRUE(migrated.ok()) << migrated;
  EXPECT_EQ(RecordedVersions(*migrating), EmbeddedVersions());
}

// Only a pending stop-first migration is checked: once the schema is
// current, a second server of the new release starting with
// --migrate=auto while the first serves and workers decide starts.
TEST(Migrator, CurrentSchemaIsNotRefusedWhileProcessesRun) {
  const std::string url = FreshDatabaseUrl("migrate_current_running");
  {
    auto first = MustConnect(url);
    ASSERT_TRUE(db::Migrate(*first, db::MigrateMode::kAuto).ok());
  }
  auto server = ConnectAs(url, "campaignq-server");
  auto worker = ConnectAs(url, "campaignq-worker");
  auto second = ConnectAs(url, "campaignq-server-migrate");
  for (auto mode : {db::MigrateMode::kAuto, db::MigrateMode::kVerify}) {
    const absl::Status status = db::Migrate(*second, mode);
    EXPECT_TRUE(status.ok()) << status;
  }
}

// Which sessions count (MigrationRunningSessions), seen from a migrator
// that holds the migration lock: an idle campaignq-worker session does;
// one waiting for the lock (a process starting, which reads the schema
// only after the migration), a starting process's "-migrate" session, a
// session of another program and the migrator's own do not.
TEST(Migrator, RunningSessionsLeaveOutStartingProcessesAndOthers) {
  const std::string url = FreshDatabaseUrl("migrate_running_sessions");
  MigrateByHandThrough(url, 3);
  auto idle_worker = ConnectAs(url, "campaignq-worker");
  auto starting_worker = ConnectAs(url, "campaignq-worker-migrate");
  auto starting_server = ConnectAs(url, "campaignq-server-migrate");
  auto psql = ConnectAs(url, "psql");
  auto waiting = ConnectAs(url, "campaignq-worker");
  const int waiting_pid = waiting->backendpid();

  auto migrating = ConnectAs(url, "campaignq-server-migrate");
  pqxx::work holder(*migrating);
  holder.exec(sql::StatementText(sql::kMigrationLock));
  std::thread waiter([&] {
    pqxx::work txn(*waiting);
    txn.exec(sql::StatementText(sql::kMigrationLock));
    txn.commit();
  });
  auto observer = MustConnect(url);
  EXPECT_TRUE(PollUntil(
      [&] {
        pqxx::nontransaction look(*observer);
        return look.exec_params("SELECT count(*) FROM pg_locks WHERE pid = $1 AND NOT granted",
                                waiting_pid)[0][0]
                   .as<int>() == 1;
      },
      Deadline(std::chrono::seconds(30))))
      << "the second campaignq-worker session never waited for the migration lock";

  std::vector<int> counted;
  for (const auto& row : holder.exec(sql::StatementText(sql::kMigrationRunningSessions))) {
    counted.push_back(row[0].as<int>());
    // A superuser sees where it comes from and since when.
    EXPECT_EQ(row[3].as<std::string>(""), "127.0.0.1");
    EXPECT_FALSE(row[4].is_null());
  }
  EXPECT_EQ(counted, std::vector<int>{idle_worker->backendpid()});
  holder.commit();
  waiter.join();
}

TEST(Migrator, ConnectToAnUnreachableServerIsUnavailable) {
  // Port 1 on loopback: nothing listens there.
  auto connection = db::Connect("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2", {});
  EXPECT_EQ(connection.status().code(), absl::StatusCode::kUnavailable) << connection.status();
}

}  // namespace
}  // namespace campaignq
