#include "client/rpc.h"

#include "gtest/gtest.h"

namespace campaignq::client {
namespace {

TEST(StatusCodeName, CanonicalNames) {
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::NOT_FOUND), "NOT_FOUND");
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::UNAVAILABLE), "UNAVAILABLE");
  EXPECT_EQ(StatusCodeName(static_cast<grpc::StatusCode>(99)), "CODE_99");
  EXPECT_EQ(RpcErrorText(grpc::Status(grpc::StatusCode::NOT_FOUND, "no campaign 7")),
            "error: NOT_FOUND: no campaign 7");
}

}  // namespace
}  // namespace campaignq::client
