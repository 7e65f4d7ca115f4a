// campaignq-server's command line and the shared machinery beneath it
// (common/flags.h, common/process_flags.h): environment variables,
// precedence, --help, --version, usage errors. No database.

#include "server/server_flags.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "common/exit_codes.h"
#include "common/flags.h"
#include "common/process/process_flags.h"
#include "support/flag_checks.h"

namespace campaignq::server {
namespace {

using flags_test::Argv;
using flags_test::ScopedEnv;

class ServerFlagsTest : public ::testing::Test {
 protected:
  absl::FlagSaver saver_;  // every test starts from the built-in defaults
};

TEST_F(ServerFlagsTest, DefaultsWithoutFlagsOrEnvironment) {
  Argv args{"campaignq-server"};
  ASSERT_TRUE(ParseCommandLine(args.argc(), args.argv()).ok());
  absl::StatusOr<ServerOptions> options = ReadServerFlags();
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->process.database_url, kDefaultDatabaseUrl);
  EXPECT_EQ(options->process.migrate, db::MigrateMode::kAuto);
  EXPECT_EQ(options->process.migrate_while_running, db::WhileRunning::kRefuse);
  EXPECT_EQ(options->process.metrics_listen, "");
  EXPECT_FALSE(options->process.pooler_mode);
  EXPECT_EQ(options->listen, "127.0.0.1:50051");
  EXPECT_EQ(options->pool_size, 16);
  EXPECT_EQ(options->max_threads, 512);
  EXPECT_EQ(options->shutdown_grace, absl::Seconds(10));
  EXPECT_FALSE(options->migrate_only);
}

TEST_F(ServerFlagsTest, EnvironmentSetsFlagsAndTheCommandLineWins) {
  ScopedEnv listen("CAMPAIGNQ_LISTEN", "0.0.0.0:7000");
  ScopedEnv pool("CAMPAIGNQ_POOL_SIZE", "3");
  ScopedEnv pooler("CAMPAIGNQ_POOLER_MODE", "yes");
  ScopedEnv grace("CAMPAIGNQ_SHUTDOWN_GRACE", "2s");
  ScopedEnv migrate("CAMPAIGNQ_MIGRATE", "verify");
  ScopedEnv url("CAMPAIGNQ_DATABASE_URL", "postgresql://env@db/x");
  // Not loopback: needs authentication or the explicit opt-out.
  ScopedEnv insecure("CAMPAIGNQ_INSECURE_ALLOW_UNAUTHENTICATED", "1");
  Argv args{"campaignq-server", "--pool-size=7", "--database_url", "postgresql://flag@db/y"};
  ASSERT_TRUE(ParseCommandLine(args.argc(), args.argv()).ok());
  absl::StatusOr<ServerOptions> options = ReadServerFlags();
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->listen, "0.0.0.0:7000");
  EXPECT_EQ(options->pool_size, 7);
  EXPECT_TRUE(options->process.pooler_mode);
  EXPECT_EQ(options->shutdown_grace, absl::Seconds(2));
  EXPECT_EQ(options->process.migrate, db::MigrateMode::kVerify);
  EXPECT_EQ(options->process.database_url, "postgresql://flag@db/y");
}

// The migrate step's override (db::Migrate): by flag, for the one run an
// operator chose, or by the shared environment (CAMPAIGNQ_*).
TEST_F(ServerFlagsTest, MigrateWithRunningProcessesByFlagOrEnvironment) {
  Argv flag{"campaignq-server", "--migrate-only", "--migrate-with-running-processes"};
  ASSERT_TRUE(ParseCommandLine(flag.argc(), flag.argv()).ok());
  absl::StatusOr<ServerOptions> options = ReadServerFlags();
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->process.migrate_while_running, db::WhileRunning::kApply);

  ScopedEnv env("CAMPAIGNQ_MIGRATE_WITH_RUNNING_PROCESSES", "1");
  Argv plain{"campaignq-server", "--migrate-only"};
  ASSERT_TRUE(ParseCommandLine(plain.argc(), plain.argv()).ok());
  options = ReadServerFlags();
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->process.migrate_while_running, db::WhileRunning::kApply);

  Argv negated{"campaignq-server", "--nomigrate-with-running-processes"};
  ASSERT_TRUE(ParseCommandLine(negated.argc(), negated.argv()).ok());
  options = ReadServerFlags();
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->process.migrate_while_running, db::WhileRunning::kRefuse);
}

TEST_F(ServerFlagsTest, SecurityFlagsAndTheSecureDefault) {
  Argv open_port{"campaignq-server", "--listen=0.0.0.0:7000"};
  ASSERT_TRUE(ParseCommandLine(open_port.argc(), open_port.argv()).ok());
  absl::StatusOr<ServerOptions> refused = ReadServerFlags();
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(refused.status().message(), "--insecure-allow-unauthenticated"));
  // The migrate step serves nothing: it runs with the server's environment
  // and needs no authentication.
  Argv migrate{"campaignq-server", "--listen=0.0.0.0:7000", "--migrate-only"};
  ASSERT_TRUE(ParseCommandLine(migrate.argc(), migrate.argv()).ok());
  EXPECT_TRUE(ReadServerFlags().ok());

  ScopedEnv tokens("CAMPAIGNQ_AUTH_TOKENS_FILE", "/etc/campaignq/tokens");
  Argv tls{"campaignq-server", "--listen=0.0.0.0:7000",  "--tls-cert=c.pem",
           "--tls-key=k.pem",  "--tls-client-ca=ca.pem", "--jwt-public-keys=j.pem",
           "--jwt-issuer=i",   "--jwt-audience=a"};
  ASSERT_TRUE(ParseCommandLine(tls.argc(), tls.argv()).ok());
  absl::StatusOr<ServerOptions> options = ReadServerFlags();
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->security.auth_tokens_file, "/etc/campaignq/tokens");
  EXPECT_EQ(options->security.tls_cert, "c.pem");
  EXPECT_EQ(options->security.tls_key, "k.pem");
  EXPECT_EQ(options->security.tls_client_ca, "ca.pem");
  EXPECT_EQ(options->security.jwt_public_keys, "j.pem");
  EXPECT_EQ(options->security.jwt_issuer, "i");
  EXPECT_EQ(options->security.jwt_audience, "a");
  EXPECT_FALSE(options->security.insecure_allow_unauthenticated);
}

TEST_F(ServerFlagsTest, AnEmptyVariableCountsAsUnset) {
  ScopedEnv listen("CAMPAIGNQ_LISTEN", "");
  Argv args{"campaignq-server"};
  ASSERT_TRUE(ParseCommandLine(args.argc(), args.argv()).ok());
  EXPECT_EQ(ReadServerFlags()->listen, "127.0.0.1:50051");
}

TEST_F(ServerFlagsTest, ABadVariableIsAUsageErrorNamingIt) {
  ScopedEnv pool("CAMPAIGNQ_POOL_SIZE", "many");
  Argv args{"campaignq-server"};
  absl::StatusOr<CommandLine> parsed = ParseCommandLine(args.argc(), args.argv());
  ASSERT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(parsed.status().message(), "CAMPAIGNQ_POOL_SIZE=many"))
      << parsed.status();
}

TEST_F(ServerFlagsTest, BoolsTakeBareAndNegatedForms) {
  ScopedEnv pooler("CAMPAIGNQ_POOLER_MODE", "true");
  Argv negated{"campaignq-server", "--nopooler-mode", "--migrate-only"};
  ASSERT_TRUE(ParseCommandLine(negated.argc(), negated.argv()).ok());
  absl::StatusOr<ServerOptions> options = ReadServerFlags();
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_FALSE(options->process.pooler_mode);
  EXPECT_TRUE(options->migrate_only);
}

TEST_F(ServerFlagsTest, UsageErrors) {
  for (std::initializer_list<std::string> bad :
       {std::initializer_list<std::string>{"s", "--no-such-flag"},
        {"s", "--pool-size=x"},
        {"s", "--listen"}}) {
    Argv args(bad);
    EXPECT_EQ(ParseCommandLine(args.argc(), args.argv()).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  for (std::initializer_list<std::string> invalid :
       {std::initializer_list<std::string>{"s", "--listen=nocolon"},
        {"s", "--pool-size=0"},
        {"s", "--max-threads=2"},
        {"s", "--shutdown-grace=-1s"},
        {"s", "--migrate=sometimes"},
        {"s", "--database-url="},
        {"s", "--migrate=off", "--migrate-only"}}) {
    absl::FlagSaver saver;
    Argv args(invalid);
    ASSERT_TRUE(ParseCommandLine(args.argc(), args.argv()).ok());
    EXPECT_EQ(ReadServerFlags().status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST_F(ServerFlagsTest, ParseFlagsOrExitHandlesHelpVersionAndErrors) {
  Argv help{"campaignq-server", "--pool-size=x", "--help"};
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(ParseFlagsOrExit(help.argc(), help.argv(), kProgram, kUsage), kExitOk);
  const std::string help_text = ::testing::internal::GetCapturedStdout();
  EXPECT_TRUE(absl::StartsWith(help_text, kUsage)) << help_text;
  EXPECT_TRUE(absl::StrContains(help_text, "env CAMPAIGNQ_LISTEN")) << help_text;

  Argv version{"campaignq-server", "--version"};
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(ParseFlagsOrExit(version.argc(), version.argv(), kProgram, kUsage), kExitOk);
  EXPECT_EQ(::testing::internal::GetCapturedStdout(),
            absl::StrCat("campaignq-server ", CAMPAIGNQ_VERSION, "\n"));

  Argv stray{"campaignq-server", "serve"};
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(ParseFlagsOrExit(stray.argc(), stray.argv(), kProgram, kUsage), kExitUsage);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(),
            "campaignq-server: unexpected argument 'serve' (see --help)\n");

  Argv fine{"campaignq-server", "--listen=127.0.0.1:0"};
  EXPECT_EQ(ParseFlagsOrExit(fine.argc(), fine.argv(), kProgram, kUsage), std::nullopt);
}

TEST_F(ServerFlagsTest, HelpListsEveryFlagWithItsVariableAndDefault) {
  flags_test::ExpectEveryFlagListedWithEnvAndDefault();
  // The shared flags and the server's own are all there.
  for (const char* name : {"database_url", "migrate", "metrics_listen", "pooler_mode", "listen",
                           "migrate_only", "pool_size", "shutdown_grace", "max_threads"}) {
    EXPECT_NE(absl::FindCommandLineFlag(name), nullptr) << name;
    const std::vector<EnvFlag> flags = EnvFlags();
    EXPECT_NE(std::find_if(flags.begin(), flags.end(),
                           [&](const EnvFlag& flag) { return flag.name == name; }),
              flags.end())
        << name;
  }
}

TEST(ExitCodes, StartFailuresMapToTheDocumentedCodes) {
  EXPECT_EQ(ExitCodeForStartFailure("t", absl::CancelledError("signal")), kExitOk);
  EXPECT_EQ(ExitCodeForStartFailure("t", absl::FailedPreconditionError("schema")), kExitUsage);
  EXPECT_EQ(ExitCodeForStartFailure("t", absl::InvalidArgumentError("url")), kExitUsage);
  EXPECT_EQ(ExitCodeForStartFailure("t", absl::UnavailableError("port")), kExitFailure);
  EXPECT_EQ(kExitInvariantBroken, 3);
}

TEST(FlagEnvVariable, UpperCasesEitherSpelling) {
  EXPECT_EQ(FlagEnvVariable("pool_size"), "CAMPAIGNQ_POOL_SIZE");
  EXPECT_EQ(FlagEnvVariable("pool-size"), "CAMPAIGNQ_POOL_SIZE");
}

// The limits' flags (server/limit_flags.h, docs/limits.md).
TEST_F(ServerFlagsTest, LimitDefaultsEnvironmentAndUsageErrors) {
  {
    Argv args{"campaignq-server"};
    ASSERT_TRUE(ParseCommandLine(args.argc(), args.argv()).ok());
    absl::StatusOr<ServerOptions> options = ReadServerFlags();
    ASSERT_TRUE(options.ok()) << options.status();
    const LimitOptions& limits = options->limits;
    EXPECT_EQ(limits.max_receive_message_bytes, 256 * 1024);
    EXPECT_EQ(limits.max_concurrent_streams, 100);
    EXPECT_EQ(limits.min_client_ping_interval, absl::Seconds(30));
    EXPECT_EQ(limits.max_ping_strikes, 2);
    EXPECT_EQ(limits.max_connection_age, absl::Minutes(30));
    EXPECT_EQ(limits.max_connection_age_grace, absl::Minutes(1));
    EXPECT_EQ(limits.max_call_deadline, absl::Seconds(30));
    EXPECT_EQ(limits.max_watch_duration, absl::Minutes(10));
    EXPECT_EQ(limits.max_watches_per_key, 16);
    EXPECT_EQ(limits.max_watches_total, 256);
    EXPECT_EQ(limits.max_queued_applies, 10000);
    EXPECT_EQ(limits.apply_rate.per_second, 0);
    EXPECT_EQ(limits.call_rate.per_second, 0);
  }
  {
    absl::FlagSaver saver;
    ScopedEnv rate("CAMPAIGNQ_APPLY_RATE", "2.5");
    ScopedEnv deadline("CAMPAIGNQ_MAX_CALL_DEADLINE", "5s");
    Argv args{"campaignq-server", "--apply-burst=10", "--max-watches-per-caller=3",
              "--max-queued-applies=400"};
    ASSERT_TRUE(ParseCommandLine(args.argc(), args.argv()).ok());
    absl::StatusOr<ServerOptions> options = ReadServerFlags();
    ASSERT_TRUE(options.ok()) << options.status();
    EXPECT_EQ(options->limits.apply_rate.per_second, 2.5);
    EXPECT_EQ(options->limits.apply_rate.burst, 10);
    EXPECT_EQ(options->limits.max_call_deadline, absl::Seconds(5));
    EXPECT_EQ(options->limits.max_watches_per_key, 3);
    EXPECT_EQ(options->limits.max_queued_applies, 400);
  }
  for (std::initializer_list<std::string> invalid :
       {std::initializer_list<std::string>{"s", "--max-receive-message-bytes=100"},
        {"s", "--max-concurrent-streams=0"},
        {"s", "--max-call-deadline=-1s"},
        {"s", "--max-watch-duration=0s"},
        {"s", "--max-watches=0"},
        {"s", "--max-queued-applies=0"},
        {"s", "--apply-rate=-1"}}) {
    absl::FlagSaver saver;
    Argv args(invalid);
    ASSERT_TRUE(ParseCommandLine(args.argc(), args.argv()).ok());
    EXPECT_EQ(ReadServerFlags().status().code(), absl::StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace campaignq::server
