#include "client/format.h"

#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"

namespace campaignq::client {
namespace {

using ::testing::HasSubstr;

TEST(CampaignText, NamesCapAndStatus) {
  v1::Campaign c;
  c.set_id(7);
  c.set_name("spring \"sale\"");
  c.set_status(v1::CAMPAIGN_STATUS_OPEN);
  c.set_waitlist(true);
  EXPECT_EQ(CampaignText(c),
            "campaign 7 name=\"spring \\\"sale\\\"\" status=open paused=false cap=unlimited "
            "approved=0 waitlist=true");
  c.set_max_participants(5);
  EXPECT_THAT(CampaignText(c), HasSubstr("cap=5"));
}

TEST(CampaignText, ShowsPausedAndTheSchedule) {
  v1::Campaign c;
  c.set_id(8);
  c.set_status(v1::CAMPAIGN_STATUS_OPEN);
  c.set_paused(true);
  c.mutable_opens_at()->set_seconds(1893456000);  // 2030-01-01T00:00:00Z
  c.mutable_closes_at()->set_seconds(1893459600);
  const std::string text = CampaignText(c);
  EXPECT_THAT(text, HasSubstr("status=open paused=true cap=unlimited"));
  EXPECT_THAT(text, HasSubstr(" opens_at=2030-01-01T00:00:00Z closes_at=2030-01-01T01:00:00Z"));
}

TEST(WatchText, NotesThatWaitlistedIsNotFinal) {
  v1::Application a;
  a.set_id(3);
  a.set_status(v1::APPLICATION_STATUS_WAITLISTED);
  EXPECT_EQ(WatchText(a),
            ApplicationText(a) + " waitlisted (not final: a cancelled seat can still approve it)");
  a.set_status(v1::APPLICATION_STATUS_APPROVED);
  EXPECT_EQ(WatchText(a), ApplicationText(a));
}

TEST(ApplicationText, ShowsStatusWordAndReason) {
  v1::Application a;
  a.set_id(12);
  a.set_campaign_id(7);
  a.set_user_id("alice");
  a.set_status(v1::APPLICATION_STATUS_REJECTED);
  a.set_reason(v1::REJECTION_REASON_CAMPAIGN_FULL);
  a.set_attempts(1);
  EXPECT_EQ(ApplicationText(a),
            "application 12 campaign=7 user=\"alice\" status=rejected reason=campaign_full "
            "attempts=1");
}

TEST(ApplicationText, ShowsPlaceInLineAndMarksAnEstimate) {
  v1::Application a;
  a.set_id(12);
  a.set_campaign_id(7);
  a.set_user_id("alice");
  a.set_status(v1::APPLICATION_STATUS_PENDING);
  a.set_position(0);
  EXPECT_EQ(ApplicationText(a),
            "application 12 campaign=7 user=\"alice\" status=pending attempts=0 position=0");
  a.set_position(25000);
  a.set_position_is_estimate(true);
  a.mutable_estimated_wait()->set_seconds(90);
  EXPECT_EQ(ApplicationText(a),
            "application 12 campaign=7 user=\"alice\" status=pending "
            "attempts=0 position=~25000 estimated_wait=1m30s");
}

// grpcurl's default output (no -emit-defaults, no -keep-proto-names) of the
// same message, on one line: json names, zero values left out except a
// proto3 optional field that is set, int64 as strings, enums by name.
TEST(ToJson, PrintsTheJsonGrpcurlPrints) {
  v1::Campaign c;
  c.set_id(7);
  c.set_name("drop");
  c.set_max_participants(0);  // set: a cap of 0 is not "unlimited"
  c.set_approved_count(0);
  c.set_waitlist(false);
  c.set_status(v1::CAMPAIGN_STATUS_OPEN);
  *c.mutable_create_time() = google::protobuf::util::TimeUtil::SecondsToTimestamp(1777629600);
  EXPECT_EQ(ToJson(c),
            "{\"id\":\"7\",\"name\":\"drop\",\"maxParticipants\":0,"
            "\"status\":\"CAMPAIGN_STATUS_OPEN\",\"createTime\":\"2026-05-01T10:00:00Z\"}");
  v1::Application a;
  a.set_campaign_id(7);
  EXPECT_EQ(ToJson(a), "{\"campaignId\":\"7\"}");
}

TEST(QueueStatsText, MarksStalledCampaigns) {
  v1::QueueStats s;
  s.set_pending(3);
  auto* c = s.add_campaigns();
  c->set_campaign_id(4);
  c->set_pending(3);
  c->set_stalled(true);
  s.add_stalled_campaign_ids(4);
  const std::string text = QueueStatsText(s);
  EXPECT_THAT(text, HasSubstr("pending=3"));
  EXPECT_THAT(text, HasSubstr("STALLED"));
  EXPECT_THAT(text, HasSubstr("stalled campaigns: 4"));
}

}  // namespace
}  // namespace campaignq::client
