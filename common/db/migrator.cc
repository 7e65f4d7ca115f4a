#include "common/db/migrator.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/db/transaction.h"
#include "common/log.h"
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

// The other campaignq sessions on this database and the recent heartbeats
// (Migrate's header says which are left out).
std::vector<RunningProcess> RunningCampaignqProcesses(ReadCommittedTransaction& txn) {
  std::vector<RunningProcess> running;
  for (const auto& row : txn.exec(sql::StatementText(sql::kMigrationRunningSessions))) {
    std::string details =
        absl::StrCat("pid ", row[0].as<int>(), ", user ", row[2].as<std::string>());
    if (row[4].is_null()) {
      absl::StrAppend(&details,
                      ", address and start hidden from this role (pg_read_all_stats shows them)");
    } else {
      absl::StrAppend(&details, ", from ", row[3].as<std::string>("a local socket"), ", since ",
                      row[4].as<std::string>());
    }
    running.push_back({row[1].as<std::string>(), std::move(details)});
  }
  if (txn.exec(sql::StatementText(sql::kMigrationHeartbeatTableExists))[0][0].as<bool>()) {
    for (const auto& row : txn.exec(sql::StatementText(sql::kMigrationRecentHeartbeats))) {
      running.push_back({absl::StrCat("worker ", row[0].as<std::string>()),
                         absl::StrCat("heartbeat at ", row[1].as<std::string>())});
    }
  }
  return running;
}

std::string Describe(const std::vector<RunningProcess>& running, size_t at_most) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < running.size() && i < at_most; ++i) {
    parts.push_back(absl::StrCat(running[i].what, " (", running[i].details, ")"));
  }
  std::string text = absl::StrJoin(parts, ", ");
  if (running.size() > at_most) absl::StrAppend(&text, " and ", running.size() - at_most, " more");
  return text;
}

std::vector<const Migration*> StopFirst(const std::vector<const Migration*>& pending) {
  std::vector<const Migration*> stop_first;
  for (const Migration* migration : pending) {
    if (migration->rollout == Rollout::kStopFirst) stop_first.push_back(migration);
  }
  return stop_first;
}

}  // namespace

absl::Status StopFirstVerdict(const std::vector<const Migration*>& pending,
                              const std::vector<RunningProcess>& running,
                              WhileRunning while_running) {
  const std::vector<const Migration*> stop_first = StopFirst(pending);
  if (stop_first.empty() || running.empty() || while_running == WhileRunning::kApply) {
    return absl::OkStatus();
  }
  std::vector<std::string> names;
  std::vector<std::string> reasons;
  for (const Migration* migration : stop_first) {
    names.push_back(absl::StrCat(migration->version, " (", migration->name, ")"));
    reasons.push_back(stop_first.size() > 1
                          ? absl::StrCat(migration->version, ": ", migration->rollout_reason)
                          : migration->rollout_reason);
  }
  const bool several = names.size() > 1;
  std::string named = names.back();
  if (several) {
    names.pop_back();
    named = absl::StrCat(absl::StrJoin(names, ", "), " and ", named);
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "schema migration", several ? "s " : " ", named, several ? " need" : " needs",
      " the previous release's processes stopped before ", several ? "they are" : "it is",
      " applied (", absl::StrJoin(reasons, "; "), "), and ", running.size(), " campaignq process",
      running.size() > 1 ? "es use" : " uses", " this database: ", Describe(running, 10),
      ". Nothing was applied: stop them (docs/deploy.md, \"Rollout of a release\", the stop step) "
      "and migrate again, or pass --migrate-with-running-processes if they are known not to be "
      "of the previous release"));
}

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
      const RolloutDeclaration* declared = nullptr;
      for (const RolloutDeclaration& declaration : RolloutDeclarations()) {
        if (declaration.version != version) continue;
        if (declared != nullptr) {
          std::fprintf(stderr, "campaignq: migration %d is declared twice\n", version);
          std::abort();
        }
        declared = &declaration;
      }
      if (declared == nullptr) {
        std::fprintf(stderr,
                     "campaignq: migration %s has no rollout declaration "
                     "(common/db/migrator_rollout.cc)\n",
                     file.file_name);
        std::abort();
      }
      list->push_back({version, file_name.substr(underscore + 1, file_name.size() - underscore - 5),
                       file.text, Checksum(file.text), declared->rollout, declared->reason});
    }
    std::sort(list->begin(), list->end(),
              [](const Migration& a, const Migration& b) { return a.version < b.version; });
    if (RolloutDeclarations().size() != list->size()) {
      std::fprintf(stderr,
                   "campaignq: common/db/migrator_rollout.cc declares a migration that "
                   "sql/migrations does not have\n");
      std::abort();
    }
    return list;
  }();
  return *migrations;
}

absl::Status Migrate(Connection& connection, MigrateMode mode, WhileRunning while_running) {
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
    std::vector<const Migration*> pending;
    for (const Migration& migration : EmbeddedMigrations()) {
      if (recorded.count(migration.version) == 0) pending.push_back(&migration);
    }
    // A database without migrations has no earlier process deciding on it.
    // Checked under the migration lock: a process that starts now waits
    // for this transaction before it reads the schema (Migrate, verify).
    if (!recorded.empty() && !StopFirst(pending).empty()) {
      const std::vector<RunningProcess> running = RunningCampaignqProcesses(txn);
      if (absl::Status verdict = StopFirstVerdict(pending, running, while_running); !verdict.ok()) {
        return verdict;
      }
      if (!running.empty()) {
        LogWarning("migrate",
                   "applying stop-first migrations while campaignq processes use the "
                   "database (--migrate-with-running-processes): ",
                   Describe(running, 10));
      }
    }
    for (const Migration* pending_migration : pending) {
      const Migration& migration = *pending_migration;
      txn.exec(migration.sql);
      txn.exec_params(sql::StatementText(sql::kMigrationRecord), migration.version, migration.name,
                      migration.checksum);
      recorded[migration.version] = {migration.name, migration.checksum};
    }
    return CompareWithEmbedded(recorded);
  });
}

}  // namespace campaignq::db
