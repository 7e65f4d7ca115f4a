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

struct Migration {
  int version;
  std::string name;  // file name without the version and .sql
  std::string sql;
  std::string checksum;  // hex digest of sql, recorded when applied
};

// The embedded migrations in version order. Aborts on a malformed file name
// or a duplicate version: those are build errors.
const std::vector<Migration>& EmbeddedMigrations();

// kAuto: applies every embedded migration not yet recorded, each in the
// same transaction as its schema_migrations row, all under a
// transaction-scoped advisory lock, so that any number of processes may
// start at once. Then (and for kVerify) checks that the recorded versions
// and checksums equal the embedded ones: FAILED_PRECONDITION names the
// first difference (pending, unknown newer version, edited migration).
absl::Status Migrate(Connection& connection, MigrateMode mode);

}  // namespace campaignq::db
