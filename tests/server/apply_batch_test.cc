// ApplyBatch's rules without a server (server/apply_batch.h): what fails
// the whole call, and how an Apply's outcome becomes its result.

#include "server/apply_batch.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "common/status_details.h"
#include "google/rpc/error_details.pb.h"

namespace campaignq::server {
namespace {

v1::ApplyBatchRequest Requests(int count) {
  v1::ApplyBatchRequest request;
  for (int i = 0; i < count; ++i) {
    v1::ApplyRequest* item = request.add_requests();
    item->set_campaign_id(1);
    item->set_user_id("user-" + std::to_string(i));
  }
  return request;
}

TEST(ApplyBatchTest, OneToAThousandRequests) {
  EXPECT_TRUE(ValidateApplyBatch(Requests(1)).ok());
  EXPECT_TRUE(ValidateApplyBatch(Requests(kMaxApplyBatch)).ok());
  for (int count : {0, kMaxApplyBatch + 1}) {
    const absl::Status status = ValidateApplyBatch(Requests(count));
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << count;
    ASSERT_EQ(FieldViolations(status).size(), 1u) << status;
    EXPECT_EQ(FieldViolations(status)[0].first, "requests");
    EXPECT_NE(status.message().find("got " + std::to_string(count)), absl::string_view::npos)
        << status;
  }
}

TEST(ApplyBatchTest, EveryMalformedRequestIsNamedByItsIndex) {
  v1::ApplyBatchRequest request = Requests(6);
  request.mutable_requests(2)->set_user_id("");
  request.mutable_requests(4)->set_campaign_id(-3);
  request.mutable_requests(4)->set_user_id(std::string(129, 'x'));
  const absl::Status status = ValidateApplyBatch(request);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  std::map<std::string, std::string> fields;
  for (const auto& [field, description] : FieldViolations(status)) fields[field] = description;
  EXPECT_EQ(fields.size(), 3u) << status;
  EXPECT_NE(fields["requests[2].user_id"].find("1 to 128"), std::string::npos);
  EXPECT_NE(fields["requests[4].campaign_id"].find("positive id"), std::string::npos);
  EXPECT_NE(fields["requests[4].user_id"].find("got 129"), std::string::npos);
  EXPECT_EQ(status.message().rfind("requests[2].user_id: ", 0), 0u) << status;
  EXPECT_NE(status.message().find("and 2 more"), absl::string_view::npos) << status;
}

TEST(ApplyBatchTest, AResultIsTheApplicationOrTheErrorWithItsDetails) {
  v1::Application application;
  application.set_id(7);
  const v1::ApplyBatchResult created = BatchResult(application);
  ASSERT_TRUE(created.has_application());
  EXPECT_EQ(created.application().id(), 7);

  absl::Status exists = absl::AlreadyExistsError("user u already applied: application 7");
  SetErrorReason(exists, "ALREADY_APPLIED");
  SetErrorMetadata(exists, "application_id", "7");
  const v1::ApplyBatchResult refused = BatchResult(exists);
  ASSERT_TRUE(refused.has_error());
  EXPECT_EQ(refused.error().code(), static_cast<int>(absl::StatusCode::kAlreadyExists));
  EXPECT_EQ(refused.error().message().rfind("user u already applied: application 7", 0), 0u);
  bool found = false;
  for (const auto& any : refused.error().details()) {
    google::rpc::ErrorInfo info;
    if (!any.UnpackTo(&info)) continue;
    found = true;
    EXPECT_EQ(info.reason(), "ALREADY_APPLIED");
    EXPECT_EQ(info.metadata().at("application_id"), "7");
  }
  EXPECT_TRUE(found) << refused.DebugString();
}

}  // namespace
}  // namespace campaignq::server
