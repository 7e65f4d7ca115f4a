// storm's own failures, which need no database: bad flags and an
// unreachable server. Its checks are the verification kit's, proven against
// real PostgreSQL in tests/verify; the whole storm runs in e2e_cli_test.

#include "client/storm.h"

#include "client/options.h"
#include "gtest/gtest.h"

namespace campaignq::client {
namespace {

TEST(Storm, UnreachableServerIsAnRpcFailure) {
  CliOptions o;
  o.server = "127.0.0.1:1";
  o.rpc_timeout = absl::Seconds(2);
  o.applicants = 1;
  EXPECT_EQ(RunStorm(o), kExitFailure);
}

TEST(Storm, BadFlagsAreUsageErrors) {
  CliOptions o;
  o.applicants = 0;
  EXPECT_EQ(RunStorm(o), kExitUsage);
  o.applicants = 1;
  o.concurrency = 0;
  EXPECT_EQ(RunStorm(o), kExitUsage);
}

}  // namespace
}  // namespace campaignq::client
