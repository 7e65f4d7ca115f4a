// Unit tier: flags whose value comes from a file named by <VARIABLE>_FILE
// (common/flags.h FlagEnvValue), as secrets mounted from a Kubernetes
// Secret or a compose secret are read; and GivenOnCommandLine. Uses the
// server's and worker's shared flags (common/process) for the database URL.
// No database.

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "common/flags.h"
#include "common/process/process_flags.h"
#include "support/flag_checks.h"
#include "support/temp_dir.h"

namespace campaignq {
namespace {

using flags_test::Argv;
using flags_test::ScopedEnv;

class EnvFileFlagsTest : public ::testing::Test {
 protected:
  std::string WriteFile(const std::string& name, const std::string& content) {
    const std::string path = dir_.File(name);
    std::ofstream(path) << content;
    return path;
  }

  absl::FlagSaver saver_;
  testing::ScopedTestDir dir_{"env_file_flags"};
};

TEST_F(EnvFileFlagsTest, DatabaseUrlFromAFileWithoutTheTrailingNewline) {
  const std::string path = WriteFile("url", "postgresql://app:s3cret@db/campaignq\n");
  ScopedEnv url("CAMPAIGNQ_DATABASE_URL", "");
  ScopedEnv file("CAMPAIGNQ_DATABASE_URL_FILE", path.c_str());
  Argv args{"campaignq-server"};
  ASSERT_TRUE(ParseCommandLine(args.argc(), args.argv()).ok());
  absl::StatusOr<ProcessOptions> options = ReadProcessFlags();
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->database_url, "postgresql://app:s3cret@db/campaignq");
  EXPECT_FALSE(GivenOnCommandLine("database-url"));
}

TEST_F(EnvFileFlagsTest, TheCommandLineWinsOverTheFile) {
  ScopedEnv file("CAMPAIGNQ_DATABASE_URL_FILE",
                 WriteFile("url", "postgresql://from-file/c").c_str());
  Argv args{"campaignq-server", "--database-url=postgresql://from-flag/c"};
  ASSERT_TRUE(ParseCommandLine(args.argc(), args.argv()).ok());
  EXPECT_EQ(ReadProcessFlags()->database_url, "postgresql://from-flag/c");
  EXPECT_TRUE(GivenOnCommandLine("database-url"));
  EXPECT_TRUE(GivenOnCommandLine("database_url"));
}

TEST_F(EnvFileFlagsTest, AnyEnvFlagHasAFileVariant) {
  ScopedEnv file("CAMPAIGNQ_MIGRATE_FILE", WriteFile("migrate", "verify\r\n").c_str());
  Argv args{"campaignq-server"};
  ASSERT_TRUE(ParseCommandLine(args.argc(), args.argv()).ok());
  EXPECT_EQ(ReadProcessFlags()->migrate, db::MigrateMode::kVerify);
}

TEST_F(EnvFileFlagsTest, BothTheVariableAndItsFileIsAnError) {
  ScopedEnv url("CAMPAIGNQ_DATABASE_URL", "postgresql://a/c");
  ScopedEnv file("CAMPAIGNQ_DATABASE_URL_FILE", WriteFile("url", "postgresql://b/c").c_str());
  Argv args{"campaignq-server"};
  const auto parsed = ParseCommandLine(args.argc(), args.argv());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(parsed.status().message(), "CAMPAIGNQ_DATABASE_URL_FILE"));
}

TEST_F(EnvFileFlagsTest, MissingOrEmptyFileIsAnErrorNamingThePath) {
  const std::string missing = dir_.File("no-such-file");
  {
    ScopedEnv file("CAMPAIGNQ_DATABASE_URL_FILE", missing.c_str());
    Argv args{"campaignq-server"};
    const auto parsed = ParseCommandLine(args.argc(), args.argv());
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(parsed.status().message(), missing)) << parsed.status();
  }
  {
    ScopedEnv file("CAMPAIGNQ_DATABASE_URL_FILE", WriteFile("empty", "\n").c_str());
    Argv args{"campaignq-server"};
    EXPECT_EQ(ParseCommandLine(args.argc(), args.argv()).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
}

TEST_F(EnvFileFlagsTest, ABadValueFromAFileIsNotEchoed) {
  ScopedEnv file("CAMPAIGNQ_IDLE_IN_TRANSACTION_TIMEOUT_FILE",
                 WriteFile("t", "s3cret-ish").c_str());
  Argv args{"campaignq-server"};
  const auto parsed = ParseCommandLine(args.argc(), args.argv());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(absl::StrContains(parsed.status().message(), "s3cret")) << parsed.status();
}

TEST_F(EnvFileFlagsTest, HelpNamesTheFileVariant) {
  EXPECT_TRUE(absl::StrContains(FlagHelp(), "CAMPAIGNQ_DATABASE_URL_FILE"));
}

}  // namespace
}  // namespace campaignq
