#include "client/retry.h"

#include "client/rpc.h"
#include "gtest/gtest.h"

namespace campaignq::client {
namespace {

TEST(IsTransient, RetriesOnlyTransientCodes) {
  EXPECT_TRUE(IsTransient(grpc::StatusCode::UNAVAILABLE));
  EXPECT_TRUE(IsTransient(grpc::StatusCode::DEADLINE_EXCEEDED));
  EXPECT_TRUE(IsTransient(grpc::StatusCode::ABORTED));
  EXPECT_TRUE(IsTransient(grpc::StatusCode::RESOURCE_EXHAUSTED));
  EXPECT_TRUE(IsTransient(grpc::StatusCode::CANCELLED));
  EXPECT_TRUE(IsTransient(grpc::StatusCode::UNKNOWN));
  EXPECT_FALSE(IsTransient(grpc::StatusCode::NOT_FOUND));
  EXPECT_FALSE(IsTransient(grpc::StatusCode::ALREADY_EXISTS));
  EXPECT_FALSE(IsTransient(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_FALSE(IsTransient(grpc::StatusCode::FAILED_PRECONDITION));
  EXPECT_FALSE(IsTransient(grpc::StatusCode::OK));
}

TEST(BackoffDelay, DoublesAndCaps) {
  const absl::Duration base = absl::Milliseconds(50), max = absl::Seconds(2);
  EXPECT_EQ(BackoffDelay(1, base, max, 1.0), absl::Milliseconds(50));
  EXPECT_EQ(BackoffDelay(2, base, max, 1.0), absl::Milliseconds(100));
  EXPECT_EQ(BackoffDelay(3, base, max, 1.0), absl::Milliseconds(200));
  EXPECT_EQ(BackoffDelay(30, base, max, 1.0), absl::Seconds(2));
}

TEST(BackoffDelay, JitterSpansHalfToFull) {
  const absl::Duration base = absl::Milliseconds(100), max = absl::Seconds(2);
  EXPECT_EQ(BackoffDelay(1, base, max, 0.0), absl::Milliseconds(50));
  EXPECT_EQ(BackoffDelay(1, base, max, 7.0), absl::Milliseconds(100));  // clamped
}

TEST(StatusCodeName, CanonicalNames) {
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::NOT_FOUND), "NOT_FOUND");
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::UNAVAILABLE), "UNAVAILABLE");
  EXPECT_EQ(StatusCodeName(static_cast<grpc::StatusCode>(99)), "CODE_99");
  EXPECT_EQ(RpcErrorText(grpc::Status(grpc::StatusCode::NOT_FOUND, "no campaign 7")),
            "error: NOT_FOUND: no campaign 7");
}

}  // namespace
}  // namespace campaignq::client
