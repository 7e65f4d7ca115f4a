#include "common/db/migrator.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/db/transaction.h"
#include "common/sql/statement.h"
#include "statements.h"

namespace campaignq::db {
namespace {

// FNV-1a 64: stable across builds and platforms, unlike std::hash.
std::string Checksum(const std::string& text) {
  uint64_t hash = 1469598103934665603ULL;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  return absl::StrFormat("%016x", hash);
}

struct Recorded {
  std::string name;
  std::string checksum;
};

std::map<int, Recorded> ReadRecorded(ReadCommittedTransaction& txn) {
  std::map<int, Recorded> recorded;
  // Plain exec, not prepared: the table may not have existed when the
  // connection registered its statements.
  for (const auto& row : txn.exec(sql::StatementText(sql::kMigrationListApplied))) {
    recorded[row[0].as<int>()] = {row[1].as<std::string>(), row[2].as<std::string>()};
  }
  return recorded;
}

absl::Status CompareWithEmbedded(const std::map<int, Recorded>& recorded) {
  for (const Migration& migration : EmbeddedMigrations()) {
    auto it = recorded.find(migration.version);
    if (it == recorded.end()) {
      return absl::FailedPreconditionError(
          absl::StrCat("schema migration ", migration.version, " (", migration.name,
                       ") is not applied; run with --migrate=auto or the migrate step first"));
    }
    if (it->second.checksum != migration.checksum) {
      return absl::FailedPreconditionError(absl::StrCat(
          "schema migration ", migration.version, " (", migration.name,
          ") was applied with different text (checksum ", it->second.checksum, ", this build ",
          migration.checksum, "); migrations must never be edited once released"));
    }
  }
  for (const auto& [version, applied] : recorded) {
    bool known = false;
    for (const Migration& migration : EmbeddedMigrations()) known |= migration.version == version;
    if (!known) {
      return absl::FailedPreconditionError(
          absl::StrCat("the database has schema migration ", version, " (", applied.name,
                       ") that this build does not know; run a newer campaignq"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<MigrateMode> ParseMigrateMode(const std::string& text) {
  if (text == "auto") return MigrateMode::kAuto;
  if (text == "verify") return MigrateMode::kVerify;
  if (text == "off") return MigrateMode::kOff;
  return absl::InvalidArgumentError(
      absl::StrCat("--migrate must be auto, verify or off, not '", text, "'"));
}

const std::vector<Migration>& EmbeddedMigrations() {
  static const auto* migrations = [] {
    auto* list = new std::vector<Migration>();
    for (const sql::SqlFile& file : sql::MigrationFiles()) {
      const std::string file_name = file.file_name;
      const size_t underscore = file_name.find('_');
      int version = 0;
      if (underscore == std::string::npos ||
          !absl::SimpleAtoi(file_name.substr(0, underscore), &version) || version <= 0 ||
          file_name.size() < 5 || file_name.substr(file_name.size() - 4) != ".sql") {
        std::fprintf(stderr, "campaignq: bad migration file name %s\n", file.file_name);
        std::abort();
      }
      for (const Migration& other : *list) {
        if (other.version == version) {
          std::fprintf(stderr, "campaignq: duplicate migration version %d\n", version);
          std::abort();
        }
      }
      list->push_back({version, file_name.substr(underscore + 1, file_name.size() - underscore - 5),
                       file.text, Checksum(file.text)});
    }
    std::sort(list->begin(), list->end(),
              [](const Migration& a, const Migration& b) { return a.version < b.version; });
    return list;
  }();
  return *migrations;
}

absl::Status Migrate(Connection& connection, MigrateMode mode) {
  if (mode == MigrateMode::kOff) return absl::OkStatus();
  return InTransaction(connection, [&](ReadCommittedTransaction& txn) -> absl::Status {
    if (mode == MigrateMode::kVerify) {
      txn.exec(sql::StatementText(sql::kMigrationLockShared));
      if (!txn.exec(sql::StatementText(sql::kMigrationTableExists))[0][0].as<bool>()) {
        return absl::FailedPreconditionError(
            "the database has no campaignq schema; run the migrate step (--migrate=auto) first");
      }
      return CompareWithEmbedded(ReadRecorded(txn));
    }
    txn.exec(sql::StatementText(sql::kMigrationLock));
    txn.exec(sql::StatementText(sql::kMigrationCreateTable));
    std::map<int, Recorded> recorded = ReadRecorded(txn);
    for (const Migration& migration : EmbeddedMigrations()) {
      if (recorded.count(migration.version) != 0) continue;
      txn.exec(migration.sql);
      txn.exec_params(sql::StatementText(sql::kMigrationRecord), migration.version, migration.name,
                      migration.checksum);
      recorded[migration.version] = {migration.name, migration.checksum};
    }
    return CompareWithEmbedded(recorded);
  });
}

}  // namespace campaignq::db
