// ToGrpcStatus: codes carry over, messages reach clients only when they are
// campaignq's own, every error has a request id, and the details decode as
// the google.rpc messages any gRPC client library understands.

#include "server/status_mapping.h"

#include <gtest/gtest.h>

#include <pqxx/pqxx>
#include <regex>
#include <string>

#include "absl/status/status.h"
#include "common/db/pg_status.h"
#include "common/status_details.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace campaignq::server {
namespace {

google::rpc::Status Details(const grpc::Status& status) {
  google::rpc::Status details;
  EXPECT_TRUE(details.ParseFromString(status.error_details())) << status.error_message();
  return details;
}

template <typename Message>
bool FindDetail(const grpc::Status& status, Message* out) {
  const google::rpc::Status details = Details(status);
  for (const auto& any : details.details()) {
    if (any.UnpackTo(out)) return true;
  }
  return false;
}

std::string RequestIdOf(const grpc::Status& status) {
  std::smatch match;
  const std::string& message = status.error_message();
  if (!std::regex_search(message, match, std::regex(R"( \[request_id=([0-9a-f]{16})\]$)"))) {
    return "";
  }
  return match[1];
}

std::string WithoutEach(std::string text, const std::string& part) {
  if (part.empty()) return text;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at)) {
    text.erase(at, part.size());
  }
  return text;
}

// What a client must never read in an error. The random request id is taken out first: its
// hex digits would otherwise contain a short secret such as "42" now and then.
void ExpectNothingInternal(const grpc::Status& status, const std::vector<std::string>& secrets) {
  const std::string request_id = RequestIdOf(status);
  const std::string message = WithoutEach(status.error_message(), request_id);
  const std::string details = WithoutEach(status.error_details(), request_id);
  for (const std::string& secret : secrets) {
    EXPECT_EQ(message.find(secret), std::string::npos) << message << " reveals " << secret;
    EXPECT_EQ(details.find(secret), std::string::npos) << secret;
  }
  EXPECT_EQ(message.find("sqlstate"), std::string::npos) << message;
}

TEST(ToGrpcStatusTest, OkIsOk) { EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok()); }

TEST(ToGrpcStatusTest, EveryCanonicalCodeMapsOneToOne) {
  const struct {
    absl::StatusCode absl_code;
    grpc::StatusCode grpc_code;
    bool message_kept;
  } kCases[] = {
      {absl::StatusCode::kCancelled, grpc::StatusCode::CANCELLED, true},
      {absl::StatusCode::kUnknown, grpc::StatusCode::UNKNOWN, false},
      {absl::StatusCode::kInvalidArgument, grpc::StatusCode::INVALID_ARGUMENT, true},
      {absl::StatusCode::kDeadlineExceeded, grpc::StatusCode::DEADLINE_EXCEEDED, true},
      {absl::StatusCode::kNotFound, grpc::StatusCode::NOT_FOUND, true},
      {absl::StatusCode::kAlreadyExists, grpc::StatusCode::ALREADY_EXISTS, true},
      {absl::StatusCode::kPermissionDenied, grpc::StatusCode::PERMISSION_DENIED, true},
      {absl::StatusCode::kResourceExhausted, grpc::StatusCode::RESOURCE_EXHAUSTED, true},
      {absl::StatusCode::kFailedPrecondition, grpc::StatusCode::FAILED_PRECONDITION, true},
      {absl::StatusCode::kAborted, grpc::StatusCode::ABORTED, true},
      {absl::StatusCode::kOutOfRange, grpc::StatusCode::OUT_OF_RANGE, true},
      {absl::StatusCode::kUnimplemented, grpc::StatusCode::UNIMPLEMENTED, false},
      {absl::StatusCode::kInternal, grpc::StatusCode::INTERNAL, false},
      {absl::StatusCode::kUnavailable, grpc::StatusCode::UNAVAILABLE, false},
      {absl::StatusCode::kDataLoss, grpc::StatusCode::DATA_LOSS, false},
      {absl::StatusCode::kUnauthenticated, grpc::StatusCode::UNAUTHENTICATED, true},
  };
  for (const auto& c : kCases) {
    const grpc::Status status = ToGrpcStatus(absl::Status(c.absl_code, "application 7 is gone"));
    EXPECT_EQ(status.error_code(), c.grpc_code) << absl::StatusCodeToString(c.absl_code);
    EXPECT_EQ(status.error_message().rfind("application 7 is gone", 0) == 0, c.message_kept)
        << status.error_message();
    EXPECT_FALSE(RequestIdOf(status).empty()) << status.error_message();
    EXPECT_EQ(Details(status).code(), static_cast<int>(c.grpc_code));
  }
}

TEST(ToGrpcStatusTest, EachErrorHasItsOwnRequestIdInMessageAndDetails) {
  const grpc::Status one = ToGrpcStatus(absl::NotFoundError("application 7 does not exist"));
  const grpc::Status two = ToGrpcStatus(absl::NotFoundError("application 7 does not exist"));
  ASSERT_FALSE(RequestIdOf(one).empty());
  EXPECT_NE(RequestIdOf(one), RequestIdOf(two));
  google::rpc::RequestInfo info;
  ASSERT_TRUE(FindDetail(one, &info));
  EXPECT_EQ(info.request_id(), RequestIdOf(one));
  EXPECT_EQ(Details(one).message(), one.error_message());
}

TEST(ToGrpcStatusTest, DatabaseErrorsRevealNoPostgresqlTextHostRoleOrSqlstate) {
  const std::vector<std::string> secrets = {"db-primary.internal",
                                            "campaignq_server",
                                            "28P01",
                                            "23505",
                                            "22003",
                                            "applications_campaign_user_key",
                                            "ERROR",
                                            "password",
                                            "5432"};
  const absl::Status auth = db::StatusFromException(pqxx::sql_error(
      "ERROR:  password authentication failed for user \"campaignq_server\"", "", "28P01"));
  const absl::Status broken = db::StatusFromException(pqxx::broken_connection(
      "could not connect to server: Connection refused\n\tIs the server running on host "
      "\"db-primary.internal\" and accepting TCP/IP connections on port 5432?"));
  const absl::Status unique = db::StatusFromException(pqxx::sql_error(
      "ERROR:  duplicate key value violates unique constraint \"applications_campaign_user_key\"",
      "INSERT ...", "23505"));
  const absl::Status out_of_range = db::StatusFromException(pqxx::sql_error(
      "ERROR:  value \"99999999999\" is out of range for type integer", "", "22003"));
  const struct {
    absl::Status status;
    grpc::StatusCode code;
  } kCases[] = {{auth, grpc::StatusCode::INTERNAL},
                {broken, grpc::StatusCode::UNAVAILABLE},
                {unique, grpc::StatusCode::ALREADY_EXISTS},
                {out_of_range, grpc::StatusCode::INVALID_ARGUMENT}};
  for (const auto& c : kCases) {
    const grpc::Status status = ToGrpcStatus(c.status);
    EXPECT_EQ(status.error_code(), c.code) << c.status;
    ExpectNothingInternal(status, secrets);
    EXPECT_FALSE(RequestIdOf(status).empty()) << status.error_message();
  }
}

TEST(ToGrpcStatusTest, ClassTwentyTwoIsInvalidArgument) {
  const absl::Status status =
      db::StatusFromException(pqxx::sql_error("ERROR:  division by zero", "", "22012"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ToGrpcStatus(status).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

absl::Status AlreadyApplied() {
  absl::Status status = absl::AlreadyExistsError(
      "user 'u1' already applied to campaign 3: application 42 is pending");
  SetErrorReason(status, "ALREADY_APPLIED");
  SetErrorMetadata(status, "application_id", "42");
  SetErrorMetadata(status, "status", "pending");
  return status;
}

TEST(ToGrpcStatusTest, AlreadyExistsCarriesErrorInfoWithTheExistingApplication) {
  const grpc::Status status = ToGrpcStatus(AlreadyApplied());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(status.error_message().rfind(
                "user 'u1' already applied to campaign 3: application 42 is pending", 0),
            0u);
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(FindDetail(status, &info));
  EXPECT_EQ(info.reason(), "ALREADY_APPLIED");
  EXPECT_EQ(info.domain(), kErrorDomain);
  EXPECT_EQ(info.metadata().at("application_id"), "42");
  EXPECT_EQ(info.metadata().at("status"), "pending");
}

TEST(ToGrpcStatusTest, CallersNotAllowedTheMetadataGetNeitherItNorTheMessageNamingIt) {
  for (const grpc::Status& status :
       {ToGrpcStatus(AlreadyApplied(), ErrorDetailOptions{/*include_error_metadata=*/false}),
        WithoutErrorMetadata(ToGrpcStatus(AlreadyApplied()))}) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
    ExpectNothingInternal(status, {"42", "pending", "u1"});
    EXPECT_FALSE(RequestIdOf(status).empty()) << status.error_message();
    google::rpc::ErrorInfo info;
    ASSERT_TRUE(FindDetail(status, &info));
    EXPECT_EQ(info.reason(), "ALREADY_APPLIED");
    EXPECT_TRUE(info.metadata().empty());
  }
}

TEST(ToGrpcStatusTest, InvalidArgumentNamesTheFieldInBadRequest) {
  const grpc::Status status =
      ToGrpcStatus(InvalidFieldError("user_id", "user_id must be 1 to 128 characters long"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  google::rpc::BadRequest bad_request;
  ASSERT_TRUE(FindDetail(status, &bad_request));
  ASSERT_EQ(bad_request.field_violations_size(), 1);
  EXPECT_EQ(bad_request.field_violations(0).field(), "user_id");
  EXPECT_EQ(bad_request.field_violations(0).description(),
            "user_id must be 1 to 128 characters long");
}

TEST(ToGrpcStatusTest, ResourceExhaustedAndUnavailableSayWhenToRetry) {
  absl::Status limited = absl::ResourceExhaustedError("too many calls");
  SetRetryDelay(limited, absl::Milliseconds(250));
  google::rpc::RetryInfo retry;
  ASSERT_TRUE(FindDetail(ToGrpcStatus(limited), &retry));
  EXPECT_EQ(retry.retry_delay().seconds(), 0);
  EXPECT_EQ(retry.retry_delay().nanos(), 250000000);

  ASSERT_TRUE(FindDetail(ToGrpcStatus(absl::UnavailableError("db down")), &retry));
  EXPECT_EQ(retry.retry_delay().seconds(), absl::ToInt64Seconds(kDefaultRetryDelay));
}

// A hold call behind a worker's batch (CampaignStore::ConfirmApplication)
// is ABORTED with the delay after which a retry is likely to find the
// campaign lock free: the client must get that delay.
TEST(ToGrpcStatusTest, AnAbortedWithARetryDelaySaysWhenToRetry) {
  absl::Status busy = absl::AbortedError("campaign is busy deciding; retry shortly");
  SetRetryDelay(busy, absl::Milliseconds(200));
  const grpc::Status status = ToGrpcStatus(busy);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ABORTED);
  google::rpc::RetryInfo retry;
  ASSERT_TRUE(FindDetail(status, &retry));
  EXPECT_EQ(retry.retry_delay().seconds(), 0);
  EXPECT_EQ(retry.retry_delay().nanos(), 200000000);
  // An ABORTED without a delay (a conflict whose retry needs no wait) has none.
  EXPECT_FALSE(FindDetail(ToGrpcStatus(absl::AbortedError("conflict")), &retry));
}

TEST(ToGrpcStatusTest, OutOfRangeCodeBecomesUnknown) {
  const grpc::Status status = ToGrpcStatus(absl::Status(static_cast<absl::StatusCode>(99), "odd"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNKNOWN);
  EXPECT_EQ(status.error_message().find("odd"), std::string::npos);
}

}  // namespace
}  // namespace campaignq::server
