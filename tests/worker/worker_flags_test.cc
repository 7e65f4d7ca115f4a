// campaignq-worker's command line (worker/worker_flags.h): every flag,
// with its environment variable, and the checks. No database. (Lives with
// the server's flag tests until tests/ has a worker directory.)

#include "worker/worker_flags.h"

#include <gtest/gtest.h>

#include "absl/flags/reflection.h"
#include "common/flags.h"
#include "support/flag_checks.h"

namespace campaignq::worker {
namespace {

using flags_test::Argv;
using flags_test::ScopedEnv;

class WorkerFlagsTest : public ::testing::Test {
 protected:
  absl::FlagSaver saver_;
};

TEST_F(WorkerFlagsTest, EveryWorkerFlagReadsItsVariable) {
  ScopedEnv concurrency("CAMPAIGNQ_CONCURRENCY", "9");
  ScopedEnv batch("CAMPAIGNQ_BATCH_SIZE", "11");
  ScopedEnv lock("CAMPAIGNQ_LOCK_MODE", "nowait");
  ScopedEnv poll("CAMPAIGNQ_POLL_INTERVAL", "250ms");
  ScopedEnv window("CAMPAIGNQ_DECIDE_WINDOW", "500us");
  ScopedEnv attempts("CAMPAIGNQ_MAX_ATTEMPTS", "5");
  ScopedEnv pooler("CAMPAIGNQ_POOLER_MODE", "1");
  ScopedEnv metrics("CAMPAIGNQ_METRICS_LISTEN", "127.0.0.1:0");
  Argv args{"campaignq-worker", "--batch-size", "12"};
  ASSERT_TRUE(ParseCommandLine(args.argc(), args.argv()).ok());
  absl::StatusOr<WorkerStackOptions> options = ReadWorkerFlags();
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->pool.concurrency, 9);
  EXPECT_EQ(options->pool.batch_size, 12);  // the command line wins
  EXPECT_EQ(options->pool.lock_mode, queue::LockMode::kNowait);
  EXPECT_EQ(options->pool.poll_interval, std::chrono::milliseconds(250));
  EXPECT_EQ(options->pool.decide_window, std::chrono::microseconds(500));
  EXPECT_EQ(options->pool.max_attempts, 5);
  EXPECT_TRUE(options->process.pooler_mode);
  EXPECT_EQ(options->process.metrics_listen, "127.0.0.1:0");
}

TEST_F(WorkerFlagsTest, NonPositiveValuesUnknownLockModesAndLongWindowsAreRefused) {
  for (std::initializer_list<std::string> invalid :
       {std::initializer_list<std::string>{"w", "--concurrency=0"},
        {"w", "--batch-size=-1"},
        {"w", "--max-attempts=0"},
        {"w", "--poll-interval=0s"},
        {"w", "--decide-window=-1us"},
        {"w", "--decide-window=2ms"},
        {"w", "--lock-mode=optimistic"}}) {
    absl::FlagSaver saver;
    Argv args(invalid);
    ASSERT_TRUE(ParseCommandLine(args.argc(), args.argv()).ok());
    EXPECT_EQ(ReadWorkerFlags().status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST_F(WorkerFlagsTest, HelpListsEveryFlagWithItsVariableAndDefault) {
  flags_test::ExpectEveryFlagListedWithEnvAndDefault();
  for (const char* name :
       {"database_url", "migrate", "metrics_listen", "pooler_mode", "concurrency", "batch_size",
        "lock_mode", "poll_interval", "decide_window", "max_attempts"}) {
    EXPECT_NE(absl::FindCommandLineFlag(name), nullptr) << name;
  }
}

}  // namespace
}  // namespace campaignq::worker
