// Unit tier: the migrations embedded from sql/migrations as the migrator
// sees them (common/db/migrator.h), with their rollout declarations
// (common/db/migrator_rollout.cc), the stop-first refusal's wording, and
// the --migrate mode words. No database; migrator_test runs them against
// one.

#include <regex>

#include "absl/strings/match.h"
#include "common/db/migrator.h"
#include "common/sql/statement.h"
#include "gtest/gtest.h"

namespace campaignq {
namespace {

TEST(Migrations, EmbeddedInStrictVersionOrderWithChecksums) {
  const auto& migrations = db::EmbeddedMigrations();
  ASSERT_EQ(migrations.size(), sql::MigrationFiles().size());
  ASSERT_FALSE(migrations.empty());
  EXPECT_EQ(migrations.front().version, 1);
  for (size_t i = 0; i < migrations.size(); ++i) {
    EXPECT_FALSE(migrations[i].name.empty());
    EXPECT_FALSE(migrations[i].sql.empty());
    EXPECT_EQ(migrations[i].checksum.size(), 16u);
    if (i > 0) {
      EXPECT_LT(migrations[i - 1].version, migrations[i].version);
    }
  }
}

// CHANGELOG.md names 0004, 0006, 0008 and 0009 as needing the previous release
// stopped; the other declarations are reasoned in migrator_rollout.cc.
TEST(Migrations, EachIsDeclaredWithAReason) {
  std::vector<int> stop_first;
  for (const db::Migration& migration : db::EmbeddedMigrations()) {
    EXPECT_GT(std::string(migration.rollout_reason).size(), 20u) << migration.version;
    if (migration.rollout == db::Rollout::kStopFirst) stop_first.push_back(migration.version);
  }
  EXPECT_EQ(stop_first, (std::vector<int>{2, 4, 6, 8, 9}));
}

// A header that says "Upgrading: ... stop" (what deploy/k8s/check-procedure
// reads, and CHANGELOG.md must name) is a stop-first declaration too, so
// that the migrator enforces what the release notes say.
TEST(Migrations, AHeaderThatSaysStopIsDeclaredStopFirst) {
  int saying_stop = 0;
  const std::regex upgrading("(^|\n)-- Upgrading:([^\n]*(\n--[^\n]*)*)");
  for (const db::Migration& migration : db::EmbeddedMigrations()) {
    std::smatch header;
    if (!std::regex_search(migration.sql, header, upgrading)) continue;
    if (!std::regex_search(header[2].str(), std::regex("\\bstop\\b"))) continue;
    EXPECT_EQ(migration.rollout, db::Rollout::kStopFirst) << migration.version;
    ++saying_stop;
  }
  EXPECT_GE(saying_stop, 1) << "no header matched: 0004's says stop";
}

const db::Migration& Version(int version) {
  for (const db::Migration& migration : db::EmbeddedMigrations()) {
    if (migration.version == version) return migration;
  }
  std::abort();
}

TEST(StopFirstVerdict, OnlyAPendingStopFirstMigrationWithProcessesRunningRefuses) {
  const std::vector<db::RunningProcess> one{{"campaignq-worker", "pid 7"}};
  const std::vector<const db::Migration*> rolling{&Version(5), &Version(7)};
  const std::vector<const db::Migration*> stop_first{&Version(4), &Version(5)};
  EXPECT_TRUE(db::StopFirstVerdict({}, one, db::WhileRunning::kRefuse).ok());
  EXPECT_TRUE(db::StopFirstVerdict(rolling, one, db::WhileRunning::kRefuse).ok());
  EXPECT_TRUE(db::StopFirstVerdict(stop_first, {}, db::WhileRunning::kRefuse).ok());
  EXPECT_TRUE(db::StopFirstVerdict(stop_first, one, db::WhileRunning::kApply).ok());

  const absl::Status refused = db::StopFirstVerdict(stop_first, one, db::WhileRunning::kRefuse);
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(refused.message(),
            "schema migration 4 (decision_counters) needs the previous release's processes "
            "stopped before it is applied (" +
                Version(4).rollout_reason +
                "), and 1 campaignq process uses this database: campaignq-worker (pid 7). "
                "Nothing was applied: stop them (docs/deploy.md, \"Rollout of a release\", the "
                "stop step) and migrate again, or pass --migrate-with-running-processes if they "
                "are known not to be of the previous release");
}

TEST(StopFirstVerdict, NamesEveryStopFirstMigrationAndAtMostTenProcesses) {
  std::vector<db::RunningProcess> many;
  for (int i = 0; i < 12; ++i) many.push_back({"campaignq-worker", "pid " + std::to_string(i)});
  const absl::Status refused = db::StopFirstVerdict(
      {&Version(2), &Version(3), &Version(4), &Version(6)}, many, db::WhileRunning::kRefuse);
  EXPECT_TRUE(absl::StrContains(
      refused.message(),
      "migrations 2 (campaign_operations), 4 (decision_counters) and 6 (closing_is_final) need"))
      << refused;
  EXPECT_TRUE(absl::StrContains(refused.message(), "(2: ")) << refused;
  EXPECT_TRUE(absl::StrContains(refused.message(), "; 6: ")) << refused;
  EXPECT_TRUE(absl::StrContains(refused.message(), "12 campaignq processes use")) << refused;
  EXPECT_TRUE(absl::StrContains(refused.message(), "(pid 9) and 2 more.")) << refused;
  EXPECT_FALSE(absl::StrContains(refused.message(), "pid 10")) << refused;
}

TEST(Migrations, ParseMigrateMode) {
  EXPECT_EQ(*db::ParseMigrateMode("auto"), db::MigrateMode::kAuto);
  EXPECT_EQ(*db::ParseMigrateMode("verify"), db::MigrateMode::kVerify);
  EXPECT_EQ(*db::ParseMigrateMode("off"), db::MigrateMode::kOff);
  for (const char* bad : {"", "AUTO", "on", "auto "}) {
    EXPECT_EQ(db::ParseMigrateMode(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace campaignq
