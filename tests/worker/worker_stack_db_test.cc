// WorkerStack's life against the test PostgreSQL: Start migrates and
// starts the pool, Stop is idempotent and fine without Start. (Lives with
// the server's tests until tests/ has a worker directory.)

#include <gtest/gtest.h>

#include "support/test_postgres.h"
#include "worker/worker_stack.h"

namespace campaignq::worker {
namespace {

WorkerStackOptions TestOptions(const std::string& url) {
  WorkerStackOptions options;
  options.process.database_url = url;
  options.process.metrics_listen = "127.0.0.1:0";
  options.pool.concurrency = 1;
  return options;
}

TEST(WorkerStackTest, StopWithoutStartIsFine) {
  WorkerStack stack(TestOptions(testing::FreshDatabaseUrl("worker_stack_idle")));
  stack.Stop();
  stack.Stop();
  EXPECT_TRUE(stack.metrics_address().empty());
}

TEST(WorkerStackTest, StartsOnceStopsIdempotently) {
  WorkerStack stack(TestOptions(testing::FreshDatabaseUrl("worker_stack")));
  ASSERT_TRUE(stack.Start().ok());
  EXPECT_NE(stack.metrics_address(), "127.0.0.1:0");
  EXPECT_EQ(stack.Start().code(), absl::StatusCode::kFailedPrecondition);
  stack.Stop();
  stack.Stop();
  EXPECT_TRUE(stack.metrics_address().empty());
}

TEST(WorkerStackTest, VerifyRefusesAnUnmigratedDatabase) {
  WorkerStackOptions options = TestOptions(testing::FreshDatabaseUrl("worker_stack_verify"));
  options.process.migrate = db::MigrateMode::kVerify;
  WorkerStack stack(options);
  EXPECT_EQ(stack.Start().code(), absl::StatusCode::kFailedPrecondition);
  stack.Stop();
}

}  // namespace
}  // namespace campaignq::worker
