#include "client/rpc.h"

#include <set>
#include <string>

#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"

namespace campaignq::client {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

TEST(StatusCodeName, CanonicalNames) {
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::NOT_FOUND), "NOT_FOUND");
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::UNAVAILABLE), "UNAVAILABLE");
  EXPECT_EQ(RpcErrorText(grpc::Status(grpc::StatusCode::NOT_FOUND, "no campaign 7")),
            "error: NOT_FOUND: no campaign 7");
}

// The documented table (docs/cli.md): 10 + the gRPC code.
TEST(ExitCodeFor, TenPlusTheGrpcCode) {
  auto exit_for = [](grpc::StatusCode code) { return ExitCodeFor(grpc::Status(code, "m")); };
  EXPECT_EQ(exit_for(grpc::StatusCode::INVALID_ARGUMENT), 13);
  EXPECT_EQ(exit_for(grpc::StatusCode::DEADLINE_EXCEEDED), 14);
  EXPECT_EQ(exit_for(grpc::StatusCode::NOT_FOUND), 15);
  EXPECT_EQ(exit_for(grpc::StatusCode::ALREADY_EXISTS), 16);
  EXPECT_EQ(exit_for(grpc::StatusCode::PERMISSION_DENIED), 17);
  EXPECT_EQ(exit_for(grpc::StatusCode::FAILED_PRECONDITION), 19);
  EXPECT_EQ(exit_for(grpc::StatusCode::UNAVAILABLE), 24);
  EXPECT_EQ(exit_for(grpc::StatusCode::UNAUTHENTICATED), 26);
  EXPECT_EQ(kExitNotFound, 15);
  EXPECT_EQ(kExitUnauthenticated, 26);
  // Every code its own number, none colliding with 0..3.
  std::set<int> seen;
  for (int code = 1; code <= 16; ++code) {
    const int exit = exit_for(static_cast<grpc::StatusCode>(code));
    EXPECT_GT(exit, kExitInvariantBroken);
    EXPECT_TRUE(seen.insert(exit).second) << code;
  }
}

TEST(RequestIdOf, FromTheMessageSuffix) {
  EXPECT_EQ(
      RequestIdOf(grpc::Status(grpc::StatusCode::NOT_FOUND, "no campaign 7 [request_id=ab12]")),
      "ab12");
  EXPECT_EQ(RequestIdOf(grpc::Status(grpc::StatusCode::NOT_FOUND, "no campaign 7")), "");
}

TEST(RpcErrorJson, RequestIdAndReasonFromTheDetails) {
  google::rpc::Status details;
  details.set_code(static_cast<int>(grpc::StatusCode::ALREADY_EXISTS));
  google::rpc::RequestInfo info;
  info.set_request_id("from-details");
  details.add_details()->PackFrom(info);
  google::rpc::ErrorInfo error;
  error.set_reason("ALREADY_APPLIED");
  details.add_details()->PackFrom(error);
  const grpc::Status status(grpc::StatusCode::ALREADY_EXISTS,
                            "user \"u\" already applied [request_id=from-details]",
                            details.SerializeAsString());
  EXPECT_EQ(RequestIdOf(status), "from-details");
  EXPECT_EQ(RpcErrorJson(status),
            "{\"code\":\"ALREADY_EXISTS\",\"grpc_code\":6,\"message\":\"user \\\"u\\\" already "
            "applied\",\"request_id\":\"from-details\",\"reason\":\"ALREADY_APPLIED\","
            "\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.RequestInfo\","
            "\"requestId\":\"from-details\"},{\"@type\":\"type.googleapis.com/"
            "google.rpc.ErrorInfo\",\"reason\":\"ALREADY_APPLIED\"}],\"exit_code\":16}");
}

TEST(RandomUuid, IsAVersionFourUuid) {
  const std::string a = RandomUuid();
  EXPECT_THAT(a,
              MatchesRegex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"));
  EXPECT_NE(a, RandomUuid());
}

}  // namespace
}  // namespace campaignq::client
