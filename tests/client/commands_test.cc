// The one-RPC commands against the in-memory fake service.

#include "client/commands.h"

#include <algorithm>
#include <memory>
#include <string>

#include "client/admin_commands.h"
#include "client/rpc.h"
#include "fake_campaignq.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace campaignq::client {
namespace {

using ::testing::HasSubstr;
using ::testing::internal::CaptureStdout;
using ::testing::internal::GetCapturedStdout;

class CommandsTest : public ::testing::Test {
 protected:
  // Campaign 1, named `name`, with user "u"'s application 1 (the output
  // swallowed; options_ left with no campaign).
  void SeedOneApplication(const std::string& name) {
    options_.name = name;
    options_.user = "u";
    CaptureStdout();
    ASSERT_EQ(RunCreateCampaign(*stub_, options_), kExitOk);
    options_.campaign = 1;
    ASSERT_EQ(RunApply(*stub_, options_), kExitOk);
    GetCapturedStdout();
    options_.campaign = 0;
  }

  CommandsTest() : stub_(v1::CampaignQueue::NewStub(MakeChannel(server_.address()))) {
    options_.rpc_timeout = absl::Seconds(5);
  }

  testing::FakeServer server_;
  std::unique_ptr<v1::CampaignQueue::Stub> stub_;
  CliOptions options_;
};

TEST_F(CommandsTest, CreateApplyGetAndListAcrossPages) {
  options_.name = "spring";
  options_.cap = 2;
  CaptureStdout();
  const int created = RunCreateCampaign(*stub_, options_);
  const std::string created_text = GetCapturedStdout();
  ASSERT_EQ(created, kExitOk);
  EXPECT_EQ(created_text,
            "campaign 1 name=\"spring\" status=open paused=false cap=2 approved=0 "
            "waitlist=true\n");

  options_.campaign = 1;
  for (const char* user : {"a", "b", "c"}) {
    options_.user = user;
    CaptureStdout();
    const int applied = RunApply(*stub_, options_);
    EXPECT_THAT(GetCapturedStdout(), HasSubstr("status=pending"));
    ASSERT_EQ(applied, kExitOk);
  }

  options_.page_size = 2;  // three applications: two pages, both followed
  options_.json = true;
  CaptureStdout();
  const int listed = RunList(*stub_, options_);
  const std::string json = GetCapturedStdout();
  ASSERT_EQ(listed, kExitOk);
  EXPECT_THAT(json, HasSubstr("\"userId\":\"a\""));
  EXPECT_THAT(json, HasSubstr("\"userId\":\"c\""));
  EXPECT_THAT(json, ::testing::Not(HasSubstr("next_page_token")));

  options_.json = false;
  options_.campaign = 0;
  options_.application = 2;
  CaptureStdout();
  const int got = RunGet(*stub_, options_);
  EXPECT_THAT(GetCapturedStdout(), HasSubstr("application 2 campaign=1 user=\"b\""));
  EXPECT_EQ(got, kExitOk);
}

TEST_F(CommandsTest, RpcErrorsExitTenPlusTheCodeAndUsageErrorsExitTwo) {
  options_.campaign = 99;
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(RunGet(*stub_, options_), kExitNotFound);
  EXPECT_THAT(::testing::internal::GetCapturedStderr(), HasSubstr("error: NOT_FOUND: "));

  options_.application = 3;  // both ids: ambiguous
  EXPECT_EQ(RunGet(*stub_, options_), kExitUsage);
  options_.status = "bogus";
  options_.campaign = 0;
  EXPECT_EQ(RunList(*stub_, options_), kExitUsage);
  options_.status = "";
  options_.limit = -1;
  EXPECT_EQ(RunList(*stub_, options_), kExitUsage);
}

TEST_F(CommandsTest, JsonErrorsGoToStderrAsOneObject) {
  options_.json = true;
  options_.campaign = 99;
  ::testing::internal::CaptureStderr();
  CaptureStdout();
  EXPECT_EQ(RunGet(*stub_, options_), kExitNotFound);
  EXPECT_EQ(GetCapturedStdout(), "");
  EXPECT_EQ(::testing::internal::GetCapturedStderr(),
            "{\"code\":\"NOT_FOUND\",\"grpc_code\":5,\"message\":\"no campaign\","
            "\"exit_code\":15}\n");

  options_.campaign = 0;
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(RunApply(*stub_, options_), kExitUsage);
  EXPECT_THAT(::testing::internal::GetCapturedStderr(),
              HasSubstr("{\"code\":\"USAGE\",\"message\":\"--campaign=ID is required"));
}

TEST_F(CommandsTest, CreateCampaignSendsTheScheduleAndARequestId) {
  options_.name = "drop";
  options_.opens_at = "2030-05-01T10:00:00Z";
  options_.closes_at = "2030-05-01T14:00:00+02:00";
  options_.request_id = "r-1";
  CaptureStdout();
  ASSERT_EQ(RunCreateCampaign(*stub_, options_), kExitOk);
  const std::string first = GetCapturedStdout();
  EXPECT_THAT(first, HasSubstr("opens_at=2030-05-01T10:00:00Z closes_at=2030-05-01T12:00:00Z"));
  // The same request id and fields: the same campaign, nothing new.
  CaptureStdout();
  ASSERT_EQ(RunCreateCampaign(*stub_, options_), kExitOk);
  EXPECT_EQ(GetCapturedStdout(), first);
  EXPECT_EQ(server_.service().campaign_count(), 1);
  // The same id with another name: ALREADY_EXISTS.
  options_.name = "other";
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(RunCreateCampaign(*stub_, options_), kExitAlreadyExists);
  ::testing::internal::GetCapturedStderr();
  // Without --request-id each call is a new campaign (a fresh UUID each).
  options_.request_id = "";
  CaptureStdout();
  ASSERT_EQ(RunCreateCampaign(*stub_, options_), kExitOk);
  ASSERT_EQ(RunCreateCampaign(*stub_, options_), kExitOk);
  GetCapturedStdout();
  EXPECT_EQ(server_.service().campaign_count(), 3);

  options_.opens_at = "tomorrow";
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(RunCreateCampaign(*stub_, options_), kExitUsage);
  EXPECT_THAT(::testing::internal::GetCapturedStderr(), HasSubstr("--opens-at=tomorrow"));
}

TEST(CreateCampaignRetry, ALostReplyIsRetriedWithTheSameRequestId) {
  testing::FakeServer server({.lose_first_create_reply = true});
  auto stub = v1::CampaignQueue::NewStub(MakeChannel(server.address()));
  CliOptions options;
  options.rpc_timeout = absl::Seconds(5);
  options.name = "launch";
  CaptureStdout();
  EXPECT_EQ(RunCreateCampaign(*stub, options), kExitOk);
  EXPECT_THAT(GetCapturedStdout(), HasSubstr("campaign 1 name=\"launch\""));
  EXPECT_EQ(server.service().campaign_count(), 1);
}

TEST_F(CommandsTest, ListStopsAtTheLimitAcrossPages) {
  options_.name = "c";
  CaptureStdout();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(RunCreateCampaign(*stub_, options_), kExitOk);
  options_.campaign = 1;
  for (const char* user : {"a", "b", "c", "d", "e"}) {
    options_.user = user;
    ASSERT_EQ(RunApply(*stub_, options_), kExitOk);
  }
  GetCapturedStdout();

  options_.campaign = 0;
  options_.page_size = 2;
  options_.limit = 3;  // pages of 2 and 1
  CaptureStdout();
  ASSERT_EQ(RunList(*stub_, options_), kExitOk);
  const std::string text = GetCapturedStdout();
  EXPECT_THAT(text, HasSubstr("user=\"c\""));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("user=\"d\"")));
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 3);

  options_.json = true;
  CaptureStdout();
  ASSERT_EQ(RunList(*stub_, options_), kExitOk);
  const std::string json = GetCapturedStdout();
  EXPECT_THAT(json, HasSubstr("\"nextPageToken\":\"3\""));  // more rows exist after id 3
  EXPECT_THAT(json, ::testing::Not(HasSubstr("\"userId\":\"d\"")));

  options_.limit = 5;  // exactly every row: no token left
  CaptureStdout();
  ASSERT_EQ(RunList(*stub_, options_), kExitOk);
  EXPECT_THAT(GetCapturedStdout(), ::testing::Not(HasSubstr("next_page_token")));

  options_.json = false;
  options_.args = {"campaigns"};
  options_.limit = 2;
  CaptureStdout();
  ASSERT_EQ(RunList(*stub_, options_), kExitOk);
  const std::string campaigns = GetCapturedStdout();
  EXPECT_EQ(campaigns.find("campaign 3"), std::string::npos) << campaigns;
  EXPECT_THAT(campaigns, HasSubstr("campaign 2 "));
}

TEST_F(CommandsTest, PauseResumeAndDeleteOnlyAClosedCampaign) {
  SeedOneApplication("ops");

  options_.args = {"1"};
  CaptureStdout();
  ASSERT_EQ(RunPauseCampaign(*stub_, options_), kExitOk);
  EXPECT_THAT(GetCapturedStdout(), HasSubstr("campaign 1 name=\"ops\" status=open paused=true"));
  CaptureStdout();
  ASSERT_EQ(RunResumeCampaign(*stub_, options_), kExitOk);
  EXPECT_THAT(GetCapturedStdout(), HasSubstr("paused=false"));

  ::testing::internal::CaptureStderr();
  EXPECT_EQ(RunDeleteCampaign(*stub_, options_), kExitFailedPrecondition);
  EXPECT_THAT(::testing::internal::GetCapturedStderr(), HasSubstr("FAILED_PRECONDITION"));
  options_.json = true;  // the request id comes out of the message's suffix
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(RunDeleteCampaign(*stub_, options_), kExitFailedPrecondition);
  EXPECT_THAT(::testing::internal::GetCapturedStderr(),
              HasSubstr("\"message\":\"campaign is open: close it first\","
                        "\"request_id\":\"00000000000000aa\""));
  options_.json = false;

  options_.args = {};
  options_.campaign = 1;  // --campaign=ID works as well as the positional id
  CaptureStdout();
  ASSERT_EQ(RunClose(*stub_, options_), kExitOk);
  ASSERT_EQ(RunDeleteCampaign(*stub_, options_), kExitOk);
  EXPECT_THAT(GetCapturedStdout(), HasSubstr("deleted campaign 1 with 1 applications"));
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(RunPauseCampaign(*stub_, options_), kExitNotFound);
  ::testing::internal::GetCapturedStderr();

  // Both forms, no id, or a bad one: usage errors.
  options_.args = {"1"};
  EXPECT_EQ(RunPauseCampaign(*stub_, options_), kExitUsage);
  options_.campaign = 0;
  options_.args = {};
  EXPECT_EQ(RunResumeCampaign(*stub_, options_), kExitUsage);
  options_.args = {"x"};
  EXPECT_EQ(RunDeleteCampaign(*stub_, options_), kExitUsage);
}

TEST_F(CommandsTest, RetryOneAndRetryEveryFailed) {
  options_.name = "dlq";
  CaptureStdout();
  ASSERT_EQ(RunCreateCampaign(*stub_, options_), kExitOk);
  options_.campaign = 1;
  for (const char* user : {"a", "b", "c"}) {
    options_.user = user;
    ASSERT_EQ(RunApply(*stub_, options_), kExitOk);
  }
  GetCapturedStdout();
  for (int64_t id : {1, 2, 3}) server_.service().SetStatus(id, v1::APPLICATION_STATUS_FAILED);

  options_.campaign = 0;
  options_.args = {"2"};
  CaptureStdout();
  ASSERT_EQ(RunRetryApplication(*stub_, options_), kExitOk);
  EXPECT_THAT(GetCapturedStdout(), HasSubstr("application 2 campaign=1 user=\"b\" status=pending"));
  ::testing::internal::CaptureStderr();  // no longer failed
  EXPECT_EQ(RunRetryApplication(*stub_, options_), kExitFailedPrecondition);
  ::testing::internal::GetCapturedStderr();

  options_.args = {};
  EXPECT_EQ(RunRetryFailed(*stub_, options_), kExitUsage);  // needs --campaign
  options_.campaign = 1;
  CaptureStdout();
  ASSERT_EQ(RunRetryFailed(*stub_, options_), kExitOk);
  EXPECT_EQ(GetCapturedStdout(), "retried 2 failed applications of campaign 1\n");
  options_.json = true;
  CaptureStdout();
  ASSERT_EQ(RunRetryFailed(*stub_, options_), kExitOk);
  EXPECT_EQ(GetCapturedStdout(), "{}\n");  // none left; proto3 JSON omits the 0
}

TEST_F(CommandsTest, CreateWithAHoldThenConfirmAndRelease) {
  options_.name = "drop";
  options_.cap = 2;
  options_.hold_duration = absl::Minutes(10);
  options_.max_active_holds = 1;
  CaptureStdout();
  ASSERT_EQ(RunCreateCampaign(*stub_, options_), kExitOk);
  EXPECT_THAT(GetCapturedStdout(), HasSubstr(" hold_duration=10m held=0 max_active_holds=1\n"));
  options_.campaign = 1;
  for (const char* user : {"a", "b"}) {
    options_.user = user;
    CaptureStdout();
    ASSERT_EQ(RunApply(*stub_, options_), kExitOk);
    GetCapturedStdout();
  }
  options_.campaign = 0;
  server_.service().SetStatus(1, v1::APPLICATION_STATUS_HELD);
  server_.service().SetStatus(2, v1::APPLICATION_STATUS_HELD);

  options_.args = {"1"};
  CaptureStdout();
  ASSERT_EQ(RunGet(*stub_, options_), kExitOk);
  EXPECT_THAT(GetCapturedStdout(), HasSubstr("status=held attempts=0 created=1970-01-01T00:16:41Z "
                                             "hold_expires_at=1970-01-01T00:50:01Z"));
  CaptureStdout();
  ASSERT_EQ(RunConfirm(*stub_, options_), kExitOk);
  EXPECT_THAT(GetCapturedStdout(),
              HasSubstr("application 1 campaign=1 user=\"a\" status=approved"));
  options_.args = {"2"};
  CaptureStdout();
  ASSERT_EQ(RunRelease(*stub_, options_), kExitOk);
  EXPECT_THAT(GetCapturedStdout(), HasSubstr("status=released"));
  // Released is final: a confirm is refused (exit 10 + FAILED_PRECONDITION).
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(RunConfirm(*stub_, options_), kExitFailedPrecondition);
  EXPECT_THAT(::testing::internal::GetCapturedStderr(), HasSubstr("FAILED_PRECONDITION"));

  options_.args = {};
  options_.hold_duration = absl::Seconds(-1);
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(RunCreateCampaign(*stub_, options_), kExitUsage);
  EXPECT_THAT(::testing::internal::GetCapturedStderr(), HasSubstr("--hold-duration must be >= 0"));
  EXPECT_EQ(server_.service().campaign_count(), 1);
}

TEST_F(CommandsTest, IdsAsArgumentsOrFlags) {
  SeedOneApplication("ids");

  options_.args = {"1"};
  CaptureStdout();
  ASSERT_EQ(RunGet(*stub_, options_), kExitOk);
  ASSERT_EQ(RunGetCampaign(*stub_, options_), kExitOk);
  ASSERT_EQ(RunClose(*stub_, options_), kExitOk);
  const std::string text = GetCapturedStdout();
  EXPECT_THAT(text, HasSubstr("application 1 campaign=1 user=\"u\""));
  EXPECT_THAT(text, HasSubstr("campaign 1 name=\"ids\" status=open"));
  EXPECT_THAT(text, HasSubstr("campaign 1 name=\"ids\" status=closed"));

  options_.campaign = 1;  // an argument and --campaign: ambiguous
  EXPECT_EQ(RunGet(*stub_, options_), kExitUsage);
  EXPECT_EQ(RunClose(*stub_, options_), kExitUsage);
  options_.args = {"0"};
  options_.campaign = 0;
  EXPECT_EQ(RunCancel(*stub_, options_), kExitUsage);
  options_.args = {};
  EXPECT_EQ(RunWatch(*stub_, options_), kExitUsage);
}

TEST_F(CommandsTest, WatchSaysWaitlistedIsNotFinal) {
  SeedOneApplication("w");
  server_.service().SetStatus(1, v1::APPLICATION_STATUS_WAITLISTED);

  options_.application = 1;
  CaptureStdout();
  ::testing::internal::CaptureStderr();
  // The fake ends the stream OK after one state, as the server's maximum
  // watch duration does: not final, so not a success.
  EXPECT_EQ(RunWatch(*stub_, options_), kExitDeadlineExceeded);
  EXPECT_THAT(::testing::internal::GetCapturedStderr(), HasSubstr("watch again"));
  EXPECT_THAT(GetCapturedStdout(),
              HasSubstr("status=waitlisted attempts=0 created=1970-01-01T00:16:41Z "
                        "waitlisted (not final: a cancelled seat can still approve it)\n"));

  server_.service().SetStatus(1, v1::APPLICATION_STATUS_APPROVED);
  CaptureStdout();
  EXPECT_EQ(RunWatch(*stub_, options_), kExitOk);
  EXPECT_THAT(GetCapturedStdout(), ::testing::Not(HasSubstr("not final")));
}

}  // namespace
}  // namespace campaignq::client
