// The one-RPC commands against the in-memory fake service.

#include "client/commands.h"

#include <memory>
#include <string>

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
            "campaign 1 name=\"spring\" status=open cap=2 approved=0 "
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
  EXPECT_THAT(json, HasSubstr("\"user_id\":\"a\""));
  EXPECT_THAT(json, HasSubstr("\"user_id\":\"c\""));
  EXPECT_THAT(json, ::testing::Not(HasSubstr("next_page_token")));

  options_.json = false;
  options_.campaign = 0;
  options_.application = 2;
  CaptureStdout();
  const int got = RunGet(*stub_, options_);
  EXPECT_THAT(GetCapturedStdout(), HasSubstr("application 2 campaign=1 user=\"b\""));
  EXPECT_EQ(got, kExitOk);
}

TEST_F(CommandsTest, RpcErrorsExitOneAndUsageErrorsExitTwo) {
  options_.campaign = 99;
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(RunGet(*stub_, options_), kExitFailure);
  EXPECT_THAT(::testing::internal::GetCapturedStderr(), HasSubstr("error: NOT_FOUND: "));

  options_.application = 3;  // both ids: ambiguous
  EXPECT_EQ(RunGet(*stub_, options_), kExitUsage);
  options_.status = "bogus";
  options_.campaign = 0;
  EXPECT_EQ(RunList(*stub_, options_), kExitUsage);
  // The fake does not implement CloseCampaign: UNIMPLEMENTED is an RPC error.
  options_.campaign = 1;
  EXPECT_EQ(RunClose(*stub_, options_), kExitFailure);
}

}  // namespace
}  // namespace campaignq::client
