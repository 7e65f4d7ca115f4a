// storm's own failures, which need no database: bad flags and an
// unreachable server. Its checks are the verification kit's, proven against
// real PostgreSQL in tests/verify; the whole storm runs in e2e_cli_test.

#include "client/storm.h"

#include <string>

#include "client/options.h"
#include "fake_campaignq.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace campaignq::client {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using ::testing::internal::CaptureStderr;
using ::testing::internal::GetCapturedStderr;

TEST(Storm, UnreachableServerIsAnRpcFailure) {
  CliOptions o;
  o.server = "127.0.0.1:1";
  o.rpc_timeout = absl::Seconds(2);
  o.applicants = 1;
  EXPECT_EQ(RunStorm(o), kExitFailure);
}

TEST(Storm, FailuresAreOneJsonObjectUnderJson) {
  CliOptions o;
  o.server = "127.0.0.1:1";
  o.rpc_timeout = absl::Seconds(2);
  o.applicants = 1;
  o.json = true;
  CaptureStderr();
  EXPECT_EQ(RunStorm(o), kExitFailure);
  const std::string err = GetCapturedStderr();
  EXPECT_THAT(err, StartsWith("{\"code\":\"UNAVAILABLE\",\"grpc_code\":14,")) << err;
  EXPECT_THAT(err, EndsWith(",\"exit_code\":1}\n")) << err;  // storm's code, not 24

  // The load ran; the database it verifies against cannot be reached.
  testing::FakeServer server;
  o.server = server.address();
  o.database_url = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2";
  o.decide_timeout = absl::Milliseconds(200);
  CaptureStderr();
  EXPECT_EQ(RunStorm(o), kExitFailure);
  const std::string db_err = GetCapturedStderr();
  // The progress line is the only text; the error is the last line, JSON.
  const std::string last = db_err.substr(db_err.rfind('\n', db_err.size() - 2) + 1);
  EXPECT_THAT(last, StartsWith("{\"code\":")) << db_err;
  EXPECT_THAT(last, HasSubstr("storm verifies against the database: --database-url")) << db_err;
  EXPECT_THAT(last, EndsWith(",\"exit_code\":1}\n")) << db_err;
}

TEST(Storm, BadFlagsAreUsageErrors) {
  CliOptions o;
  o.applicants = 0;
  EXPECT_EQ(RunStorm(o), kExitUsage);
  o.applicants = 1;
  o.concurrency = 0;
  EXPECT_EQ(RunStorm(o), kExitUsage);
}

// The hold flags are refused before anything is sent, with what to change.
TEST(Storm, BadHoldFlagsAreUsageErrorsNamingTheFix) {
  const auto usage_error = [](CliOptions o) {
    o.server = "127.0.0.1:1";  // never reached
    o.applicants = 1;
    CaptureStderr();
    const int code = RunStorm(o);
    const std::string err = GetCapturedStderr();
    EXPECT_EQ(code, kExitUsage) << err;
    return err;
  };
  CliOptions o;
  o.hold_duration = absl::Seconds(1);
  EXPECT_THAT(usage_error(o), HasSubstr("--hold-duration needs --cap"));
  o.cap = 5;
  o.confirm_share = 0.8;
  o.release_share = 0.4;
  EXPECT_THAT(usage_error(o), HasSubstr("--confirm-share + --release-share must be <= 1"));
  o.release_share = -0.1;
  EXPECT_THAT(usage_error(o), HasSubstr("between 0 and 1"));
  o = CliOptions();
  o.cap = 5;
  o.max_active_holds = 2;
  EXPECT_THAT(usage_error(o), HasSubstr("--max-active-holds needs --hold-duration"));
  o.hold_duration = absl::Seconds(-1);
  EXPECT_THAT(usage_error(o), HasSubstr("--hold-duration must be >= 0"));
}

}  // namespace
}  // namespace campaignq::client
