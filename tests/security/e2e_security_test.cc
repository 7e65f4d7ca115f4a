// TLS, authentication and authorization against the real campaignq-server
// and PostgreSQL (docs/security.md): the full authorization matrix (a token
// of every role against every method, the answer's code each time, and the
// database untouched by every refusal), applicants confined to their own
// user id, server reflection and health, reload on SIGHUP, TLS and mutual
// TLS with throwaway certificates, JWTs, and the secure-by-default rule.

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "campaignq/v1/campaignq.grpc.pb.h"
#include "common/exit_codes.h"
#include "gtest/gtest.h"
#include "security/crypto_fixture.h"
#include "server/security/authorization.h"
#include "server/security/token_file.h"
#include "support/binaries.h"
#include "support/poll.h"
#include "support/stack.h"
#include "support/temp_dir.h"
#include "support/test_postgres.h"

namespace campaignq::testing {
namespace {

using server::security::Method;
using server::security::MethodName;
using server::security::Sha256Hex;

constexpr char kAdmin[] = "admin-token-1";
constexpr char kService[] = "service-token-1";
constexpr char kAlice[] = "alice-token-1";  // applicant bound to "alice"
constexpr char kBob[] = "bob-token-1";      // applicant bound to "bob"
constexpr char kObserver[] = "observer-token-1";

std::string TokensFile() {
  return absl::StrCat("# e2e tokens\n", Sha256Hex(kAdmin), " admin ops\n", Sha256Hex(kService),
                      " service backend\n", Sha256Hex(kAlice), " applicant alice alice-app\n",
                      Sha256Hex(kBob), " applicant bob bob-app\n", Sha256Hex(kObserver),
                      " observer dashboards\n");
}

void Authorize(grpc::ClientContext* context, const std::string& token) {
  if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(15));
}

// Calls made as one principal on one stub.
class As {
 public:
  As(v1::CampaignQueue::Stub* stub, std::string token) : stub_(stub), token_(std::move(token)) {}

  grpc::Status CreateCampaign(const std::string& name, v1::Campaign* out = nullptr) {
    v1::CreateCampaignRequest request;
    request.set_name(name);
    request.set_max_participants(100);
    v1::Campaign response;
    grpc::ClientContext context;
    Authorize(&context, token_);
    grpc::Status status = stub_->CreateCampaign(&context, request, &response);
    if (out != nullptr) *out = response;
    return status;
  }
  grpc::Status GetCampaign(int64_t id) {
    v1::GetCampaignRequest request;
    request.set_campaign_id(id);
    v1::Campaign response;
    grpc::ClientContext context;
    Authorize(&context, token_);
    return stub_->GetCampaign(&context, request, &response);
  }
  grpc::Status ListCampaigns() {
    v1::ListCampaignsResponse response;
    grpc::ClientContext context;
    Authorize(&context, token_);
    return stub_->ListCampaigns(&context, v1::ListCampaignsRequest(), &response);
  }
  grpc::Status CloseCampaign(int64_t id) {
    v1::CloseCampaignRequest request;
    request.set_campaign_id(id);
    v1::Campaign response;
    grpc::ClientContext context;
    Authorize(&context, token_);
    return stub_->CloseCampaign(&context, request, &response);
  }
  grpc::Status Apply(int64_t campaign_id, const std::string& user, v1::Application* out = nullptr) {
    v1::ApplyRequest request;
    request.set_campaign_id(campaign_id);
    request.set_user_id(user);
    v1::Application response;
    grpc::ClientContext context;
    Authorize(&context, token_);
    grpc::Status status = stub_->Apply(&context, request, &response);
    if (out != nullptr) *out = response;
    return status;
  }
  // One request, for `user`.
  grpc::Status ApplyBatch(int64_t campaign_id, const std::string& user) {
    v1::ApplyBatchRequest request;
    v1::ApplyRequest* item = request.add_requests();
    item->set_campaign_id(campaign_id);
    item->set_user_id(user);
    v1::ApplyBatchResponse response;
    grpc::ClientContext context;
    Authorize(&context, token_);
    return stub_->ApplyBatch(&context, request, &response);
  }
  grpc::Status GetApplication(int64_t id, v1::Application* out = nullptr) {
    v1::GetApplicationRequest request;
    request.set_application_id(id);
    v1::Application response;
    grpc::ClientContext context;
    Authorize(&context, token_);
    grpc::Status status = stub_->GetApplication(&context, request, &response);
    if (out != nullptr) *out = response;
    return status;
  }
  grpc::Status ListApplications(int64_t campaign_id, const std::string& user_filter = "",
                                v1::ListApplicationsResponse* out = nullptr) {
    v1::ListApplicationsRequest request;
    request.set_campaign_id(campaign_id);
    request.set_user_id(user_filter);
    v1::ListApplicationsResponse response;
    grpc::ClientContext context;
    Authorize(&context, token_);
    grpc::Status status = stub_->ListApplications(&context, request, &response);
    if (out != nullptr) *out = response;
    return status;
  }
  grpc::Status CancelApplication(int64_t id) {
    v1::CancelApplicationRequest request;
    request.set_application_id(id);
    v1::Application response;
    grpc::ClientContext context;
    Authorize(&context, token_);
    return stub_->CancelApplication(&context, request, &response);
  }
  grpc::Status ConfirmApplication(int64_t id) {
    v1::ConfirmApplicationRequest request;
    request.set_application_id(id);
    return Unary(&v1::CampaignQueue::Stub::ConfirmApplication, request);
  }
  grpc::Status ReleaseApplication(int64_t id) {
    v1::ReleaseApplicationRequest request;
    request.set_application_id(id);
    return Unary(&v1::CampaignQueue::Stub::ReleaseApplication, request);
  }
  // The whole stream: the final status, and how many messages came.
  grpc::Status WatchApplication(int64_t id, int* messages = nullptr) {
    v1::WatchApplicationRequest request;
    request.set_application_id(id);
    grpc::ClientContext context;
    Authorize(&context, token_);
    auto reader = stub_->WatchApplication(&context, request);
    v1::Application message;
    int count = 0;
    while (reader->Read(&message)) ++count;
    if (messages != nullptr) *messages = count;
    return reader->Finish();
  }
  grpc::Status GetQueueStats() {
    v1::QueueStats response;
    grpc::ClientContext context;
    Authorize(&context, token_);
    return stub_->GetQueueStats(&context, v1::GetQueueStatsRequest(), &response);
  }
  // The admin-only operations, by id.
  grpc::Status PauseCampaign(int64_t id) {
    v1::PauseCampaignRequest request;
    request.set_campaign_id(id);
    return Unary(&v1::CampaignQueue::Stub::PauseCampaign, request);
  }
  grpc::Status ResumeCampaign(int64_t id) {
    v1::ResumeCampaignRequest request;
    request.set_campaign_id(id);
    return Unary(&v1::CampaignQueue::Stub::ResumeCampaign, request);
  }
  grpc::Status DeleteCampaign(int64_t id) {
    v1::DeleteCampaignRequest request;
    request.set_campaign_id(id);
    return Unary(&v1::CampaignQueue::Stub::DeleteCampaign, request);
  }
  grpc::Status RetryApplication(int64_t id) {
    v1::RetryApplicationRequest request;
    request.set_application_id(id);
    return Unary(&v1::CampaignQueue::Stub::RetryApplication, request);
  }
  grpc::Status RetryFailedApplications(int64_t campaign_id) {
    v1::RetryFailedApplicationsRequest request;
    request.set_campaign_id(campaign_id);
    return Unary(&v1::CampaignQueue::Stub::RetryFailedApplications, request);
  }

 private:
  template <typename Request, typename Response>
  grpc::Status Unary(grpc::Status (v1::CampaignQueue::Stub::*method)(grpc::ClientContext*,
                                                                     const Request&, Response*),
                     const Request& request) {
    Response response;
    grpc::ClientContext context;
    Authorize(&context, token_);
    return (stub_->*method)(&context, request, &response);
  }

  v1::CampaignQueue::Stub* stub_;
  std::string token_;
};

// Everything in the database a refused call could have changed.
std::vector<int64_t> Fingerprint(Stack& stack) {
  return {stack.Scalar("SELECT count(*) FROM campaigns"),
          stack.Scalar("SELECT count(*) FROM campaigns WHERE status = 'closed'"),
          stack.Scalar("SELECT count(*) FROM campaigns WHERE paused"),
          stack.Scalar("SELECT count(*) FROM applications"),
          stack.Scalar("SELECT coalesce(sum(hashtext(id::text || status || updated_at::text)), 0)"
                       " FROM applications")};
}

// Server reflection's ListServices over a generic stub (Debian ships no
// reflection stubs): how many responses came and the final status.
grpc::Status ListServicesByReflection(const std::shared_ptr<grpc::Channel>& channel,
                                      const std::string& token, int* responses) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue queue;
  grpc::ClientContext context;
  Authorize(&context, token);
  auto call = stub.PrepareCall(
      &context, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &queue);
  void* tag = nullptr;
  bool ok = false;
  const auto step = [&](int id) {
    EXPECT_TRUE(queue.Next(&tag, &ok));
    EXPECT_EQ(tag, reinterpret_cast<void*>(id));
    return ok;
  };
  call->StartCall(reinterpret_cast<void*>(1));
  step(1);
  // ServerReflectionRequest{list_services: ""}: field 7, length 0.
  grpc::Slice slice(std::string("\x3a\x00", 2));
  grpc::ByteBuffer request(&slice, 1);
  call->Write(request, reinterpret_cast<void*>(2));
  step(2);
  call->WritesDone(reinterpret_cast<void*>(3));
  step(3);
  *responses = 0;
  grpc::ByteBuffer response;
  while (true) {
    call->Read(&response, reinterpret_cast<void*>(4));
    if (!step(4)) break;
    ++*responses;
  }
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  step(5);
  return status;
}

// --- the authorization matrix ------------------------------------------------

class AuthorizationMatrixTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    stack_ = new Stack("security-matrix");
    WriteFile(stack_->dir() + "/tokens", TokensFile());
    stack_->StartServer({"--auth-tokens-file=" + stack_->dir() + "/tokens"});
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(stack_->server(), nullptr);
    stub_ = stack_->NewStub();
  }

  As Admin() { return As(stub_.get(), kAdmin); }
  int64_t NewCampaign() {
    v1::Campaign campaign;
    EXPECT_TRUE(Admin().CreateCampaign(absl::StrCat("c", ++campaigns_), &campaign).ok());
    return campaign.id();
  }
  int64_t NewApplication(int64_t campaign_id, const std::string& user) {
    v1::Application application;
    EXPECT_TRUE(Admin().Apply(campaign_id, user, &application).ok());
    return application.id();
  }
  // `user`'s application holding a seat of a fresh campaign with holds, as
  // a worker's decision leaves it (this stack runs no worker).
  int64_t NewHeldApplication(const std::string& user) {
    const int64_t campaign = stack_->Scalar(absl::StrCat(
        "INSERT INTO campaigns (name, max_participants, hold_duration_ms) VALUES ('held-",
        ++campaigns_, "', 10, 600000) RETURNING id"));
    const int64_t id = NewApplication(campaign, user);
    return stack_->Scalar(absl::StrCat(
        "WITH held AS (UPDATE applications SET status = 'held', decided_at = clock_timestamp(), "
        "hold_expires_at = clock_timestamp() + interval '10 min' WHERE id = ",
        id,
        " RETURNING id, campaign_id), counted AS (UPDATE campaigns c SET held_count = "
        "c.held_count + 1 FROM held h WHERE c.id = h.campaign_id) SELECT id FROM held"));
  }

  static Stack* stack_;
  std::unique_ptr<v1::CampaignQueue::Stub> stub_;
  int campaigns_ = 0;
};

Stack* AuthorizationMatrixTest::stack_ = nullptr;

TEST_F(AuthorizationMatrixTest, EveryRoleAgainstEveryMethod) {
  // Written out here, not read from the server's table: O ok, P denied.
  // Columns in kAllMethods order: CreateCampaign GetCampaign ListCampaigns
  // CloseCampaign Apply GetApplication ListApplications CancelApplication
  // WatchApplication GetQueueStats, then PauseCampaign ResumeCampaign
  // DeleteCampaign RetryApplication RetryFailedApplications, then
  // ApplyBatch, then ConfirmApplication ReleaseApplication. Applicants act
  // on their own user id.
  const std::map<std::string, std::string> expected = {
      {kAdmin,
       "OOOOOOOOOO"
       "OOOOO"
       "O"
       "OO"},
      {kService,
       "POOPOOOOOO"
       "PPPPP"
       "O"
       "OO"},
      {kAlice,
       "POOPOOOOOP"
       "PPPPP"
       "P"
       "OO"},
      {kObserver,
       "POOPPPPPPO"
       "PPPPP"
       "P"
       "PP"},
  };
  const int64_t shared = NewCampaign();
  const int64_t alices = NewApplication(shared, "alice");
  // A final application: its watch ends at once with OK.
  const int64_t finished = NewApplication(NewCampaign(), "alice");
  ASSERT_TRUE(Admin().CancelApplication(finished).ok());

  for (const auto& [token, codes] : expected) {
    int column = 0;
    for (Method method : server::security::kAllMethods) {
      // Prerequisites first (as admin), so the fingerprint covers the call alone.
      int64_t fresh_campaign = 0, fresh_application = 0;
      if (method == Method::kCloseCampaign || method == Method::kApply ||
          method == Method::kApplyBatch || method == Method::kPauseCampaign ||
          method == Method::kResumeCampaign || method == Method::kRetryFailedApplications) {
        fresh_campaign = NewCampaign();
      }
      if (method == Method::kDeleteCampaign) {
        fresh_campaign = NewCampaign();
        EXPECT_TRUE(Admin().CloseCampaign(fresh_campaign).ok());
      }
      if (method == Method::kCancelApplication) {
        fresh_application = NewApplication(NewCampaign(), "alice");
      }
      if (method == Method::kConfirmApplication || method == Method::kReleaseApplication) {
        fresh_application = NewHeldApplication("alice");
      }
      if (method == Method::kRetryApplication) {
        // What a worker leaves after deterministic errors.
        fresh_application = stack_->Scalar(
            campaignq::testing::MarkFailedSql(NewApplication(NewCampaign(), "alice"), "x"));
      }
      const std::vector<int64_t> before = Fingerprint(*stack_);
      As caller(stub_.get(), token);
      grpc::Status status;
      switch (method) {
        case Method::kCreateCampaign:
          status = caller.CreateCampaign(absl::StrCat("by-", token));
          break;
        case Method::kGetCampaign:
          status = caller.GetCampaign(shared);
          break;
        case Method::kListCampaigns:
          status = caller.ListCampaigns();
          break;
        case Method::kCloseCampaign:
          status = caller.CloseCampaign(fresh_campaign);
          break;
        case Method::kApply:
          status = caller.Apply(fresh_campaign, "alice");
          break;
        case Method::kGetApplication:
          status = caller.GetApplication(alices);
          break;
        case Method::kListApplications:
          status = caller.ListApplications(shared);
          break;
        case Method::kCancelApplication:
          status = caller.CancelApplication(fresh_application);
          break;
        case Method::kWatchApplication:
          status = caller.WatchApplication(finished);
          break;
        case Method::kGetQueueStats:
          status = caller.GetQueueStats();
          break;
        case Method::kPauseCampaign:
          status = caller.PauseCampaign(fresh_campaign);
          break;
        case Method::kResumeCampaign:
          status = caller.ResumeCampaign(fresh_campaign);
          break;
        case Method::kDeleteCampaign:
          status = caller.DeleteCampaign(fresh_campaign);
          break;
        case Method::kRetryApplication:
          status = caller.RetryApplication(fresh_application);
          break;
        case Method::kRetryFailedApplications:
          status = caller.RetryFailedApplications(fresh_campaign);
          break;
        case Method::kApplyBatch:
          // Even for the applicant's own user id: a batch is for services.
          status = caller.ApplyBatch(fresh_campaign, "alice");
          break;
        case Method::kConfirmApplication:
          status = caller.ConfirmApplication(fresh_application);
          break;
        case Method::kReleaseApplication:
          status = caller.ReleaseApplication(fresh_application);
          break;
      }
      const char want = codes[column++];
      const std::string where = absl::StrCat(token, " calling ", MethodName(method));
      if (want == 'O') {
        EXPECT_TRUE(status.ok()) << where << ": " << status.error_message();
      } else {
        EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
            << where << ": " << status.error_message();
        EXPECT_EQ(Fingerprint(*stack_), before) << where << " changed the database";
      }
    }
  }
}

TEST_F(AuthorizationMatrixTest, NoOrBadTokenIsUnauthenticatedEverywhere) {
  const int64_t shared = NewCampaign();
  const int64_t application = NewApplication(shared, "alice");
  // No token, an unknown one, and the file's hash of a real one.
  for (const std::string& token : {std::string(), std::string("wrong-token"), Sha256Hex(kAdmin)}) {
    const std::vector<int64_t> before = Fingerprint(*stack_);
    As caller(stub_.get(), token);
    const std::vector<std::pair<Method, grpc::Status>> calls = {
        {Method::kCreateCampaign, caller.CreateCampaign("anonymous")},
        {Method::kGetCampaign, caller.GetCampaign(shared)},
        {Method::kListCampaigns, caller.ListCampaigns()},
        {Method::kCloseCampaign, caller.CloseCampaign(shared)},
        {Method::kApply, caller.Apply(shared, "mallory")},
        {Method::kGetApplication, caller.GetApplication(application)},
        {Method::kListApplications, caller.ListApplications(0)},
        {Method::kCancelApplication, caller.CancelApplication(application)},
        {Method::kWatchApplication, caller.WatchApplication(application)},
        {Method::kGetQueueStats, caller.GetQueueStats()},
        {Method::kPauseCampaign, caller.PauseCampaign(shared)},
        {Method::kResumeCampaign, caller.ResumeCampaign(shared)},
        {Method::kDeleteCampaign, caller.DeleteCampaign(shared)},
        {Method::kRetryApplication, caller.RetryApplication(application)},
        {Method::kRetryFailedApplications, caller.RetryFailedApplications(shared)},
        {Method::kApplyBatch, caller.ApplyBatch(shared, "mallory")},
        {Method::kConfirmApplication, caller.ConfirmApplication(application)},
        {Method::kReleaseApplication, caller.ReleaseApplication(application)},
    };
    for (const auto& [method, status] : calls) {
      EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED)
          << "token '" << token << "' calling " << MethodName(method) << ": "
          << status.error_message();
    }
    EXPECT_EQ(Fingerprint(*stack_), before);
  }
}

TEST_F(AuthorizationMatrixTest, NonBearerSchemesAreUnauthenticated) {
  for (const std::string& header :
       {std::string("Basic YWRtaW46YWRtaW4="), std::string(kAdmin), std::string("Bearer")}) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", header);
    v1::QueueStats stats;
    grpc::Status status = stub_->GetQueueStats(&context, v1::GetQueueStatsRequest(), &stats);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << header;
  }
  grpc::ClientContext twice;
  twice.AddMetadata("authorization", std::string("Bearer ") + kAdmin);
  twice.AddMetadata("authorization", std::string("Bearer ") + kObserver);
  v1::QueueStats stats;
  EXPECT_EQ(stub_->GetQueueStats(&twice, v1::GetQueueStatsRequest(), &stats).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(AuthorizationMatrixTest, ApplicantsSeeNothingOfOtherUsers) {
  const int64_t campaign = NewCampaign();
  const int64_t alices = NewApplication(campaign, "alice");
  const int64_t bobs = NewApplication(campaign, "bob");
  As alice(stub_.get(), kAlice);

  // Another user's application answers exactly like one that does not exist.
  const int64_t missing = bobs + 1000000;
  grpc::Status other = alice.GetApplication(bobs);
  grpc::Status none = alice.GetApplication(missing);
  EXPECT_EQ(other.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(none.error_code(), grpc::StatusCode::NOT_FOUND);
  // Word for word, but for the id asked about and the request id every
  // error carries; and the same structured details, but for the request id.
  const auto redacted = [](const grpc::Status& status, int64_t id) {
    std::string message = absl::StrReplaceAll(status.error_message(), {{std::to_string(id), "ID"}});
    return message.substr(0, message.find(" [request_id="));
  };
  EXPECT_EQ(redacted(other, bobs), redacted(none, missing));
  // (The details repeat the message, so they differ by the ids' lengths.)
  EXPECT_EQ(other.error_details().size() - std::to_string(bobs).size(),
            none.error_details().size() - std::to_string(missing).size());

  const std::vector<int64_t> before = Fingerprint(*stack_);
  EXPECT_EQ(alice.CancelApplication(bobs).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(alice.ConfirmApplication(bobs).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(alice.ReleaseApplication(bobs).error_code(), grpc::StatusCode::NOT_FOUND);
  int messages = -1;
  EXPECT_EQ(alice.WatchApplication(bobs, &messages).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(messages, 0);
  EXPECT_EQ(alice.Apply(NewCampaign(), "bob").error_code(), grpc::StatusCode::PERMISSION_DENIED);
  // NewCampaign added a campaign; nothing else changed.
  std::vector<int64_t> after = Fingerprint(*stack_);
  EXPECT_EQ(after[0], before[0] + 1);
  EXPECT_EQ(std::vector<int64_t>(after.begin() + 1, after.end()),
            std::vector<int64_t>(before.begin() + 1, before.end()));
  EXPECT_EQ(stack_->Scalar(absl::StrCat("SELECT count(*) FROM applications WHERE id = ", bobs,
                                        " AND status = 'pending'")),
            1);

  // List is confined to alice, whatever filter she asks for.
  for (const std::string& filter : {std::string(), std::string("bob")}) {
    v1::ListApplicationsResponse listed;
    ASSERT_TRUE(alice.ListApplications(campaign, filter, &listed).ok());
    ASSERT_EQ(listed.applications_size(), 1) << filter;
    EXPECT_EQ(listed.applications(0).id(), alices);
    EXPECT_EQ(listed.applications(0).user_id(), "alice");
  }
  // Her own duplicate is ALREADY_EXISTS, about her own application only.
  EXPECT_EQ(alice.Apply(campaign, "alice").error_code(), grpc::StatusCode::ALREADY_EXISTS);

  // A service sees every user, and may filter by one.
  v1::ListApplicationsResponse all, only_bob;
  ASSERT_TRUE(As(stub_.get(), kService).ListApplications(campaign, "", &all).ok());
  EXPECT_EQ(all.applications_size(), 2);
  ASSERT_TRUE(As(stub_.get(), kService).ListApplications(campaign, "bob", &only_bob).ok());
  ASSERT_EQ(only_bob.applications_size(), 1);
  EXPECT_EQ(only_bob.applications(0).user_id(), "bob");
}

TEST_F(AuthorizationMatrixTest, HealthNeedsNoTokenReflectionNeedsOne) {
  EXPECT_TRUE(stack_->Serving());  // the CLI's health probe, no token
  auto channel = grpc::CreateChannel(stack_->address(), grpc::InsecureChannelCredentials());
  int responses = -1;
  grpc::Status anonymous = ListServicesByReflection(channel, "", &responses);
  EXPECT_EQ(anonymous.error_code(), grpc::StatusCode::UNAUTHENTICATED) << anonymous.error_message();
  EXPECT_EQ(responses, 0);
  grpc::Status bad = ListServicesByReflection(channel, "wrong-token", &responses);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(responses, 0);
  // Any valid token, the least privileged role included.
  grpc::Status observer = ListServicesByReflection(channel, kObserver, &responses);
  EXPECT_TRUE(observer.ok()) << observer.error_message();
  EXPECT_EQ(responses, 1);
}

// --- reload on SIGHUP --------------------------------------------------------

TEST(SecurityReloadTest, SighupRereadsTheTokensFileAndKeepsItWhenBroken) {
  Stack stack("security-reload");
  const std::string tokens = stack.dir() + "/tokens";
  WriteFile(tokens, TokensFile());
  stack.StartServer({"--auth-tokens-file=" + tokens});
  auto stub = stack.NewStub();
  constexpr char kNew[] = "rotated-token-2";
  EXPECT_EQ(As(stub.get(), kNew).GetQueueStats().error_code(), grpc::StatusCode::UNAUTHENTICATED);

  // A broken file: the reload fails (logged as an error) and the old
  // tokens stay in force.
  WriteFile(tokens, "this line is wrong\n");
  ASSERT_TRUE(stack.server()->Signal(SIGHUP).ok());
  EXPECT_TRUE(PollUntil(
      [&] {
        return absl::StrContains(ReadTextFile(stack.server()->stderr_path()), "reload failed");
      },
      Deadline(std::chrono::seconds(30))));
  EXPECT_NE(ReadTextFile(stack.server()->stderr_path()).find("tokens:1:"), std::string::npos);
  EXPECT_TRUE(As(stub.get(), kAdmin).GetQueueStats().ok());

  WriteFile(tokens, TokensFile() + Sha256Hex(kNew) + " observer rotated\n");
  ASSERT_TRUE(stack.server()->Signal(SIGHUP).ok());
  EXPECT_TRUE(PollUntil([&] { return As(stub.get(), kNew).GetQueueStats().ok(); },
                        Deadline(std::chrono::seconds(30))));
  EXPECT_EQ(As(stub.get(), kNew).CreateCampaign("x").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(stack.server()->Running());
  stub.reset();
  stack.StopServer();
}

// --- TLS, mutual TLS, JWT ----------------------------------------------------

class SecurityTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ScopedTestDir("security-tls");
    ca_ = new Ca(MakeCa(dir_->path(), "ca"));
    server_ = new Cert(MakeCert(dir_->path(), "server", "localhost", *ca_));
  }
  static void TearDownTestSuite() {
    delete server_;
    delete ca_;
    delete dir_;
  }

  static std::shared_ptr<grpc::Channel> TlsChannel(const std::string& address,
                                                   const Cert* client = nullptr) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ReadFile(ca_->cert);
    if (client != nullptr) {
      ssl.pem_cert_chain = ReadFile(client->cert);
      ssl.pem_private_key = ReadFile(client->key);
    }
    return grpc::CreateChannel(address, grpc::SslCredentials(ssl));
  }

  static std::vector<std::string> TlsFlags() {
    return {"--tls-cert=" + server_->cert, "--tls-key=" + server_->key};
  }

  static ScopedTestDir* dir_;
  static Ca* ca_;
  static Cert* server_;
};

ScopedTestDir* SecurityTlsTest::dir_ = nullptr;
Ca* SecurityTlsTest::ca_ = nullptr;
Cert* SecurityTlsTest::server_ = nullptr;

TEST_F(SecurityTlsTest, TlsWithTokens) {
  Stack stack("security-tls");
  WriteFile(stack.dir() + "/tokens", TokensFile());
  std::vector<std::string> flags = TlsFlags();
  flags.push_back("--auth-tokens-file=" + stack.dir() + "/tokens");
  stack.StartServer(flags);

  auto tls = v1::CampaignQueue::NewStub(TlsChannel(stack.address()));
  EXPECT_TRUE(As(tls.get(), kAdmin).GetQueueStats().ok());
  EXPECT_EQ(As(tls.get(), "").GetQueueStats().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  // Plaintext reaches nothing on a TLS port.
  EXPECT_EQ(As(stack.NewStub().get(), kAdmin).GetQueueStats().error_code(),
            grpc::StatusCode::UNAVAILABLE);

  // The CLI: the health probe (no token) and a call with a token, over TLS.
  const std::string ca = "--ca-cert=" + ca_->cert;
  ClientResult health = stack.RunClient({"health", ca, "--timeout=10s"});
  EXPECT_TRUE(health.exit.Success()) << health.stderr_text;
  EXPECT_EQ(health.stdout_text, "SERVING");
  ClientResult stats = stack.RunClient({"stats", ca, std::string("--token=") + kObserver});
  EXPECT_TRUE(stats.exit.Success()) << stats.stderr_text;
  ClientResult refused =
      stack.RunClient({"close", "--campaign=1", ca, std::string("--token=") + kObserver});
  EXPECT_EQ(refused.exit.code, kExitPermissionDenied);  // the CLI: 10 + the gRPC code
  EXPECT_NE(refused.stderr_text.find("PERMISSION_DENIED"), std::string::npos)
      << refused.stderr_text;
  ClientResult plaintext = stack.RunClient({"health", "--timeout=3s"});
  EXPECT_FALSE(plaintext.exit.Success());
  tls.reset();
  stack.StopServer();
}

TEST_F(SecurityTlsTest, CertificatesAreReloadedWhenTheFilesChange) {
  Stack stack("security-tls-reload");
  const std::string cert = stack.dir() + "/server.pem", key = stack.dir() + "/server.key";
  WriteFile(cert, ReadFile(server_->cert));
  WriteFile(key, ReadFile(server_->key));
  stack.StartServer({"--tls-cert=" + cert, "--tls-key=" + key});  // loopback: no auth needed
  EXPECT_TRUE(
      As(v1::CampaignQueue::NewStub(TlsChannel(stack.address())).get(), "").GetQueueStats().ok());

  // Rotate to a certificate of another CA: new handshakes pick it up
  // within the provider's refresh interval, without a restart.
  const Ca next_ca = MakeCa(dir_->path(), "next-ca");
  const Cert next = MakeCert(dir_->path(), "next", "localhost", next_ca);
  WriteFile(key + ".new", ReadFile(next.key));
  WriteFile(cert + ".new", ReadFile(next.cert));
  ASSERT_EQ(std::rename((key + ".new").c_str(), key.c_str()), 0);
  ASSERT_EQ(std::rename((cert + ".new").c_str(), cert.c_str()), 0);
  const auto trusts_next = [&] {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ReadFile(next_ca.cert);
    // A fresh channel each time: a new handshake.
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto stub = v1::CampaignQueue::NewStub(
        grpc::CreateCustomChannel(stack.address(), grpc::SslCredentials(ssl), args));
    return As(stub.get(), "").GetQueueStats().ok();
  };
  EXPECT_TRUE(
      PollUntil(trusts_next, Deadline(std::chrono::seconds(60)), std::chrono::milliseconds(500)));
  stack.StopServer();
}

TEST_F(SecurityTlsTest, MutualTlsMapsCertificatesToPrincipals) {
  const Cert ops = MakeCert(dir_->path(), "ops", "ops-console", *ca_);
  const Cert reader = MakeCert(dir_->path(), "reader", "dashboards", *ca_);
  const Cert stranger = MakeCert(dir_->path(), "stranger", "stranger", *ca_);
  const Ca rogue_ca = MakeCa(dir_->path(), "rogue-ca");
  const Cert rogue = MakeCert(dir_->path(), "rogue", "ops-console", rogue_ca);

  Stack stack("security-mtls");
  WriteFile(stack.dir() + "/tokens", TokensFile() + "cert-cn:ops-console admin ops-cert\n" +
                                         "cert-cn:dashboards observer dashboards-cert\n");
  std::vector<std::string> flags = TlsFlags();
  flags.push_back("--tls-client-ca=" + ca_->cert);
  flags.push_back("--auth-tokens-file=" + stack.dir() + "/tokens");
  stack.StartServer(flags);

  auto as_ops = v1::CampaignQueue::NewStub(TlsChannel(stack.address(), &ops));
  EXPECT_TRUE(As(as_ops.get(), "").CreateCampaign("by-cert").ok());
  auto as_reader = v1::CampaignQueue::NewStub(TlsChannel(stack.address(), &reader));
  EXPECT_TRUE(As(as_reader.get(), "").GetQueueStats().ok());
  EXPECT_EQ(As(as_reader.get(), "").CreateCampaign("no").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // A token outranks the certificate: here it lowers the caller to an applicant.
  EXPECT_EQ(As(as_ops.get(), kAlice).CreateCampaign("no").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // Verified but not mapped: no principal.
  auto as_stranger = v1::CampaignQueue::NewStub(TlsChannel(stack.address(), &stranger));
  EXPECT_EQ(As(as_stranger.get(), "").GetQueueStats().error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // No certificate, or one from another CA: no handshake.
  auto no_cert = v1::CampaignQueue::NewStub(TlsChannel(stack.address()));
  EXPECT_EQ(As(no_cert.get(), kAdmin).GetQueueStats().error_code(), grpc::StatusCode::UNAVAILABLE);
  auto as_rogue = v1::CampaignQueue::NewStub(TlsChannel(stack.address(), &rogue));
  EXPECT_EQ(As(as_rogue.get(), "").GetQueueStats().error_code(), grpc::StatusCode::UNAVAILABLE);

  // The CLI with a client certificate.
  ClientResult stats = stack.RunClient(
      {"stats", "--ca-cert=" + ca_->cert, "--cert=" + reader.cert, "--key=" + reader.key});
  EXPECT_TRUE(stats.exit.Success()) << stats.stderr_text;
  as_ops.reset();
  as_reader.reset();
  as_stranger.reset();
  no_cert.reset();
  as_rogue.reset();
  stack.StopServer();
}

TEST_F(SecurityTlsTest, JwtBearerTokens) {
  const KeyPair rsa = MakeKeyPair(dir_->path(), "jwt-rsa", true);
  const KeyPair ec = MakeKeyPair(dir_->path(), "jwt-ec", false);
  const std::string keys = dir_->File("jwt-keys.pem");
  WriteFile(keys, ReadFile(rsa.public_key) + ReadFile(ec.public_key));
  Stack stack("security-jwt");
  stack.StartServer(
      {"--jwt-public-keys=" + keys, "--jwt-issuer=https://auth.test", "--jwt-audience=campaignq"});
  const auto claims = [](const std::string& sub, const std::string& role, int64_t exp_offset) {
    return absl::StrCat(R"({"iss":"https://auth.test","aud":"campaignq","sub":")", sub,
                        R"(","campaignq_role":")", role, R"(","exp":)",
                        absl::ToUnixSeconds(absl::Now()) + exp_offset, "}");
  };
  auto stub = stack.NewStub();
  const std::string admin = SignJwt(rsa.private_key, "RS256", claims("ops", "admin", 300));
  v1::Campaign campaign;
  ASSERT_TRUE(As(stub.get(), admin).CreateCampaign("jwt", &campaign).ok());
  const std::string carol = SignJwt(ec.private_key, "ES256", claims("carol", "applicant", 300));
  EXPECT_TRUE(As(stub.get(), carol).Apply(campaign.id(), "carol").ok());
  EXPECT_EQ(As(stub.get(), carol).Apply(campaign.id(), "dave").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  const std::string expired = SignJwt(rsa.private_key, "RS256", claims("ops", "admin", -120));
  EXPECT_EQ(As(stub.get(), expired).GetQueueStats().error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(As(stub.get(), UnsignedJwt(claims("ops", "admin", 300))).GetQueueStats().error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(stack.Scalar("SELECT count(*) FROM applications"), 1);
  stub.reset();
  stack.StopServer();
}

// --- secure by default -------------------------------------------------------

ExitStatus RunServerToEnd(const std::vector<std::string>& args, const std::string& log,
                          std::string* stderr_text) {
  auto process = Process::Start({kServerBinary, args, {{"CAMPAIGNQ_LISTEN", ""}}, log});
  EXPECT_TRUE(process.ok()) << process.status();
  if (!process.ok()) return {};
  auto exit = (*process)->Wait(Deadline(std::chrono::seconds(60)));
  EXPECT_TRUE(exit.ok()) << exit.status();
  *stderr_text = ReadTextFile(log);
  return exit.ok() ? *exit : ExitStatus{};
}

TEST(SecureByDefaultTest, NonLoopbackWithoutAuthRefusesToStart) {
  ScopedTestDir dir("security-default");
  std::string text;
  ExitStatus exit =
      RunServerToEnd({"--listen=0.0.0.0:0", "--database-url=postgresql://nobody@127.0.0.1:1/none"},
                     dir.File("refused.log"), &text);
  EXPECT_TRUE(exit.exited);
  EXPECT_EQ(exit.code, 2);
  EXPECT_NE(text.find("--insecure-allow-unauthenticated"), std::string::npos) << text;

  // A bad tokens file names its line, and the server does not start either.
  WriteFile(dir.File("tokens"), "# ok\n" + Sha256Hex("x") + " superuser root\n");
  exit = RunServerToEnd({"--listen=0.0.0.0:0", "--auth-tokens-file=" + dir.File("tokens"),
                         "--database-url=postgresql://nobody@127.0.0.1:1/none"},
                        dir.File("bad-tokens.log"), &text);
  EXPECT_EQ(exit.code, 2);
  EXPECT_NE(text.find(dir.File("tokens") + ":2: unknown role 'superuser'"), std::string::npos)
      << text;
}

TEST(SecureByDefaultTest, LoopbackServesAnonymouslyAndSaysSoLoudly) {
  Stack stack("security-loopback");
  stack.StartServer();  // the quickstart: no security flag at all
  EXPECT_TRUE(As(stack.NewStub().get(), "").CreateCampaign("anonymous admin").ok());
  // With nothing to check it against, a token changes nothing.
  EXPECT_TRUE(As(stack.NewStub().get(), "stray-token").GetQueueStats().ok());
  EXPECT_NE(ReadTextFile(stack.server()->stderr_path()).find("NO AUTHENTICATION"),
            std::string::npos);
  stack.StopServer();
}

TEST(SecureByDefaultTest, InsecureFlagAllowsAnyAddress) {
  Stack stack("security-insecure");
  auto process = Process::Start({kServerBinary,
                                 {"--listen=0.0.0.0:0", "--insecure-allow-unauthenticated",
                                  "--migrate=auto", "--database-url=" + stack.database_url()},
                                 {{"CAMPAIGNQ_LISTEN", ""}},
                                 stack.dir() + "/insecure.log"});
  ASSERT_TRUE(process.ok()) << process.status();
  auto line =
      (*process)->WaitForLine("campaignq-server listening on ", Deadline(std::chrono::seconds(60)));
  ASSERT_TRUE(line.ok()) << line.status();
  ASSERT_TRUE((*process)->Signal(SIGTERM).ok());
  auto exit = (*process)->Wait(Deadline(std::chrono::seconds(30)));
  ASSERT_TRUE(exit.ok());
  EXPECT_TRUE(exit->Success());
}

}  // namespace
}  // namespace campaignq::testing
