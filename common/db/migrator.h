#pragma once
// Versioned schema migrations embedded from sql/migrations/NNNN_name.sql.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/db/connect.h"

namespace campaignq::db {

enum class MigrateMode {
  kAuto,    // apply pending migrations at start
  kVerify,  // refuse to start unless the schema matches exactly
  kOff,     // do nothing
};

// Parses "auto", "verify" or "off".
absl::StatusOr<MigrateMode> ParseMigrateMode(const std::string& text);

// How a migration meets the processes of the previous release, which keep
// running until the rollout replaces them (docs/deploy.md, "Rollout of a
// release").
enum class Rollout {
  // They may keep deciding while it applies and after. Declared so only
  // with a mixed-version test (docs/architecture.md, "The tables").
  kRolling,
  // They must stop first: Migrate refuses to apply it while campaignq
  // processes use the database.
  kStopFirst,
};

// One migration's declaration, in common/db/migrator_rollout.cc: apart from
// the .sql, whose text is checksummed once applied, so that a declaration
// can be corrected without editing a released migration.
struct RolloutDeclaration {
  int version;
  Rollout rollout;
  const char* reason;  // why; quoted when Migrate refuses
};

// Every declaration, in version order.
const std::vector<RolloutDeclaration>& RolloutDeclarations();

struct Migration {
  int version;
  std::string name;  // file name without the version and .sql
  std::string sql;
  std::string checksum;  // hex digest of sql, recorded when applied
  Rollout rollout;
  std::string rollout_reason;
};

// The embedded migrations in version order, each with its declaration.
// Aborts on a malformed file name, a duplicate version or a migration
// without exactly one declaration: those are build errors.
const std::vector<Migration>& EmbeddedMigrations();

// A session of a campaignq process (application_name "campaignq-...") on
// the database being migrated, or a worker whose heartbeat is recent.
// address and since are empty where the migrating role may not see them
// (other roles' sessions, unless it has pg_read_all_stats).
struct RunningProcess {
  std::string what;     // application_name, or "worker <worker_id>" for a heartbeat
  std::string details;  // "pid 12, user campaignq_worker, from 10.0.0.7, since ..."
};

// What kAuto does about a pending stop-first migration while campaignq
// processes use the database.
enum class WhileRunning {
  kRefuse,  // FAILED_PRECONDITION, nothing applied (the default)
  kApply,   // --migrate-with-running-processes: apply, and log who ran
};

// The decision apart from the database: OK unless `pending` holds a
// stop-first migration, `running` is not empty and `while_running` is
// kRefuse; then FAILED_PRECONDITION naming the migrations, why each needs
// the previous release stopped, the processes (at most ten, and how many
// more) and what to do.
absl::Status StopFirstVerdict(const std::vector<const Migration*>& pending,
                              const std::vector<RunningProcess>& running,
                              WhileRunning while_running);

// kAuto: applies every embedded migration not yet recorded, each in the
// same transaction as its schema_migrations row, all under a
// transaction-scoped advisory lock, so that any number of processes may
// start at once. Before applying a stop-first migration to a database that
// has migrations applied, it looks for campaignq processes using it (other
// sessions named "campaignq-...", except those waiting for the migration
// lock and the starting servers' and workers' "-migrate" sessions, which
// take that lock before reading the schema; and recent worker heartbeats)
// and refuses (StopFirstVerdict). Then (and for kVerify) checks that the
// recorded versions and checksums equal the embedded ones:
// FAILED_PRECONDITION names the first difference (pending, unknown newer
// version, edited migration).
absl::Status Migrate(Connection& connection, MigrateMode mode,
                     WhileRunning while_running = WhileRunning::kRefuse);

}  // namespace campaignq::db
