// Unit tier: the migrations embedded from sql/migrations as the migrator
// sees them (common/db/migrator.h), and the --migrate mode words. No
// database; migrator_test runs them against one.

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
