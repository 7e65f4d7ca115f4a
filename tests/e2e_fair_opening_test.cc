// A fair opening (issue 21, part 3; docs/queue-order.md), end to end with
// the real server and worker processes: Applies in the pre-queue are
// accepted, nothing is decided before opens_at, the seed is secret until
// then, the pre-queue is decided in the order the published seed gives
// (recomputed here, outside PostgreSQL), and arrivals after the opening
// come after every pre-queued application.

#include <google/protobuf/util/time_util.h>
#include <openssl/sha.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "support/poll.h"
#include "support/stack.h"

namespace campaignq::testing {
namespace {

using google::protobuf::util::TimeUtil;
using std::chrono::seconds;

// docs/queue-order.md's formula, written from the doc, not from the SQL:
// the first 8 bytes of sha256(seed ":" campaign ":" user) big-endian,
// shifted right by 2 (62 bits), minus 2^62.
int64_t AuditKey(const std::string& seed, int64_t campaign_id, const std::string& user_id) {
  const std::string input = absl::StrCat(seed, ":", campaign_id, ":", user_id);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  uint64_t first = 0;
  for (int i = 0; i < 8; ++i) first = (first << 8) | digest[i];
  return static_cast<int64_t>(first >> 2) - (int64_t{1} << 62);
}

google::protobuf::Timestamp In(std::chrono::milliseconds from_now) {
  return TimeUtil::MillisecondsToTimestamp(
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch() + from_now)
          .count());
}

v1::Campaign GetCampaign(v1::CampaignQueue::Stub& stub, int64_t id) {
  grpc::ClientContext context;
  v1::GetCampaignRequest request;
  request.set_campaign_id(id);
  v1::Campaign campaign;
  const grpc::Status status = stub.GetCampaign(&context, request, &campaign);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return campaign;
}

grpc::Status Apply(v1::CampaignQueue::Stub& stub, int64_t campaign, const std::string& user,
                   v1::Application* application) {
  grpc::ClientContext context;
  v1::ApplyRequest request;
  request.set_campaign_id(campaign);
  request.set_user_id(user);
  return stub.Apply(&context, request, application);
}

v1::Campaign CreatePrequeued(v1::CampaignQueue::Stub& stub, const std::string& name, int cap,
                             std::chrono::milliseconds opens_in) {
  grpc::ClientContext context;
  v1::CreateCampaignRequest request;
  request.set_name(name);
  request.set_max_participants(cap);
  request.set_waitlist(false);
  *request.mutable_prequeue_opens_at() = In(-opens_in);
  *request.mutable_opens_at() = In(opens_in);
  v1::Campaign campaign;
  const grpc::Status status = stub.CreateCampaign(&context, request, &campaign);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return campaign;
}

void SetPaused(v1::CampaignQueue::Stub& stub, int64_t id, bool paused) {
  grpc::ClientContext context;
  v1::Campaign campaign;
  grpc::Status status;
  if (paused) {
    v1::PauseCampaignRequest request;
    request.set_campaign_id(id);
    status = stub.PauseCampaign(&context, request, &campaign);
  } else {
    v1::ResumeCampaignRequest request;
    request.set_campaign_id(id);
    status = stub.ResumeCampaign(&context, request, &campaign);
  }
  ASSERT_TRUE(status.ok()) << status.error_message();
}

// The server and two worker processes; a stub to the server.
std::unique_ptr<v1::CampaignQueue::Stub> StartWithWorkers(Stack& stack) {
  stack.StartServer();
  for (int i = 0; i < 2; ++i) stack.StartWorker();
  return stack.NewStub();
}

int64_t Pending(Stack& stack, int64_t campaign) {
  return stack.Scalar(absl::StrCat("SELECT count(*) FROM applications WHERE campaign_id = ",
                                   campaign, " AND status = 'pending'"));
}

TEST(FairOpening, BeforeThePrequeueApplyIsRefusedWithTheTimeItOpens) {
  Stack stack("fair_refused");
  stack.StartServer();
  auto stub = stack.NewStub();
  grpc::ClientContext context;
  v1::CreateCampaignRequest request;
  request.set_name("later");
  *request.mutable_prequeue_opens_at() = In(std::chrono::hours(1));
  *request.mutable_opens_at() = In(std::chrono::hours(2));
  v1::Campaign campaign;
  ASSERT_TRUE(stub->CreateCampaign(&context, request, &campaign).ok());
  v1::Application application;
  const grpc::Status status = Apply(*stub, campaign.id(), "early", &application);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  // The pre-queue's opening to the second (the message's RFC 3339 form
  // trims trailing zeros of the fraction, TimeUtil's does not).
  EXPECT_NE(
      status.error_message().find(TimeUtil::ToString(campaign.prequeue_opens_at()).substr(0, 19)),
      std::string::npos)
      << status.error_message();
  stack.StopServer();
}

// Workers run throughout. 30 pre-queued applicants for 20 seats (no
// waitlist): nothing is decided before opens_at, the seed appears only
// then, and the 20 approved are exactly the first 20 of the order the
// published seed gives.
TEST(FairOpening, ThePrequeueIsDecidedFromOpensAtInThePublishedSeedsOrder) {
  Stack stack("fair_order");
  auto stub = StartWithWorkers(stack);
  const auto opens_in = std::chrono::milliseconds(4000);
  const v1::Campaign created = CreatePrequeued(*stub, "drop", 20, opens_in);
  const int64_t id = created.id();
  EXPECT_TRUE(created.queue_seed().empty());
  std::vector<std::string> users;
  for (int i = 0; i < 30; ++i) {
    users.push_back(absl::StrCat("u", i));
    v1::Application application;
    const grpc::Status status = Apply(*stub, id, users.back(), &application);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(application.status(), v1::APPLICATION_STATUS_PENDING);
  }
  // Still in the pre-queue (the Applies took well under opens_in): the seed
  // is secret and every row pending, with two workers idle beside them.
  ASSERT_GT(stack.Scalar(absl::StrCat("SELECT campaignq_micros(opens_at) - "
                                      "campaignq_micros(clock_timestamp()) FROM campaigns "
                                      "WHERE id = ",
                                      id)),
            0);
  EXPECT_TRUE(GetCampaign(*stub, id).queue_seed().empty());
  EXPECT_EQ(Pending(stack, id), 30);

  // The opening: idle workers are woken by the maintenance leader.
  ASSERT_TRUE(PollUntil([&] { return Pending(stack, id) == 0; }, Deadline(opens_in + seconds(20))));
  EXPECT_EQ(stack.Scalar(absl::StrCat("SELECT count(*) FROM applications a JOIN campaigns c ON "
                                      "c.id = a.campaign_id WHERE c.id = ",
                                      id, " AND a.decided_at < c.opens_at")),
            0);
  std::printf("pre-queue of 30 decided by opens_at + %lld ms\n",
              static_cast<long long>(stack.Scalar(absl::StrCat(
                  "SELECT (campaignq_micros(max(a.decided_at)) - campaignq_micros(c.opens_at)) / "
                  "1000 FROM applications a JOIN campaigns c ON c.id = a.campaign_id WHERE c.id = ",
                  id, " GROUP BY c.opens_at"))));
  std::printf("opening announced at opens_at + %lld ms\n",
              static_cast<long long>(stack.Scalar(absl::StrCat(
                  "SELECT (campaignq_micros(opening_announced_at) - campaignq_micros(opens_at)) / "
                  "1000 FROM campaigns WHERE id = ",
                  id))));
  const v1::Campaign opened = GetCampaign(*stub, id);
  ASSERT_EQ(opened.queue_seed().size(), 36u);

  // The audit: order the user ids by the published seed (ties by id,
  // which the application ids give), and the first 20 are the approved.
  std::vector<std::pair<std::pair<int64_t, int64_t>, std::string>> line;
  for (const std::string& user : users) {
    const int64_t app_id = stack.Scalar(absl::StrCat(
        "SELECT id FROM applications WHERE campaign_id = ", id, " AND user_id = '", user, "'"));
    line.push_back({{AuditKey(opened.queue_seed(), id, user), app_id}, user});
  }
  std::sort(line.begin(), line.end());
  for (size_t i = 0; i < line.size(); ++i) {
    const int64_t approved =
        stack.Scalar(absl::StrCat("SELECT count(*) FROM applications WHERE campaign_id = ", id,
                                  " AND user_id = '", line[i].second, "' AND status = 'approved'"));
    EXPECT_EQ(approved, i < 20 ? 1 : 0) << "place " << i << " user " << line[i].second;
  }
  stack.StopWorkers();
  stack.StopServer();
}

// Arrivals after the opening compete with a pre-queue that is still
// pending (the campaign is paused across the opening, so both are in line
// when the workers decide): 20 seats, 15 pre-queued, 10 arrivals. Every
// pre-queued applicant is approved and only the first 5 arrivals by id.
TEST(FairOpening, ArrivalsAfterTheOpeningAreDecidedAfterEveryPrequeuedApplication) {
  Stack stack("fair_arrivals");
  auto stub = StartWithWorkers(stack);
  const auto opens_in = std::chrono::milliseconds(3000);
  const int64_t id = CreatePrequeued(*stub, "drop", 20, opens_in).id();
  SetPaused(*stub, id, true);
  for (int i = 0; i < 15; ++i) {
    v1::Application application;
    ASSERT_TRUE(Apply(*stub, id, absl::StrCat("early", i), &application).ok());
  }
  ASSERT_TRUE(PollUntil([&] { return !GetCampaign(*stub, id).queue_seed().empty(); },
                        Deadline(opens_in + seconds(10))));
  std::vector<int64_t> arrivals;
  for (int i = 0; i < 10; ++i) {
    v1::Application application;
    ASSERT_TRUE(Apply(*stub, id, absl::StrCat("late", i), &application).ok());
    arrivals.push_back(application.id());
  }
  // ListApplications of its pending rows still pages in id order, the
  // shuffled pre-queue included (ApplicationListQueuedOfCampaignAfter).
  std::vector<int64_t> listed;
  std::string token;
  do {
    grpc::ClientContext context;
    v1::ListApplicationsRequest list;
    list.set_campaign_id(id);
    list.set_status(v1::APPLICATION_STATUS_PENDING);
    list.set_page_size(7);
    list.set_page_token(token);
    v1::ListApplicationsResponse page;
    const grpc::Status status = stub->ListApplications(&context, list, &page);
    ASSERT_TRUE(status.ok()) << status.error_message();
    for (const auto& application : page.applications()) listed.push_back(application.id());
    token = page.next_page_token();
  } while (!token.empty());
  EXPECT_EQ(listed.size(), 25u);
  EXPECT_TRUE(std::is_sorted(listed.begin(), listed.end()));
  SetPaused(*stub, id, false);
  ASSERT_TRUE(PollUntil([&] { return Pending(stack, id) == 0; }, Deadline(seconds(30))));
  EXPECT_EQ(stack.Scalar(absl::StrCat("SELECT count(*) FROM applications WHERE campaign_id = ", id,
                                      " AND user_id LIKE 'early%' AND status = 'approved'")),
            15);
  std::sort(arrivals.begin(), arrivals.end());
  for (size_t i = 0; i < arrivals.size(); ++i) {
    EXPECT_EQ(stack.Scalar(absl::StrCat("SELECT count(*) FROM applications WHERE id = ",
                                        arrivals[i], " AND status = 'approved'")),
              i < 5 ? 1 : 0)
        << "arrival " << i;
  }
  stack.StopWorkers();
  stack.StopServer();
}

}  // namespace
}  // namespace campaignq::testing
