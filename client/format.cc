#include "client/format.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "common/store/validation.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"

namespace campaignq::client {
namespace {

using google::protobuf::util::TimeUtil;

std::string Quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string StatusWord(v1::ApplicationStatus status) {
  std::string word = store::ApplicationStatusWord(status);
  return word.empty() ? "unspecified" : word;
}

std::string Seconds(const google::protobuf::Duration& d) {
  return absl::StrCat(static_cast<double>(TimeUtil::DurationToMilliseconds(d)) / 1000.0, "s");
}

}  // namespace

std::string CampaignStatusWord(v1::CampaignStatus status) {
  switch (status) {
    case v1::CAMPAIGN_STATUS_OPEN:
      return "open";
    case v1::CAMPAIGN_STATUS_CLOSED:
      return "closed";
    default:
      return "unspecified";
  }
}

std::string CampaignText(const v1::Campaign& c) {
  std::string out = absl::StrCat(
      "campaign ", c.id(), " name=", Quoted(c.name()), " status=", CampaignStatusWord(c.status()),
      " paused=", c.paused() ? "true" : "false",
      " cap=", c.has_max_participants() ? absl::StrCat(c.max_participants()) : "unlimited",
      " approved=", c.approved_count(), " waitlist=", c.waitlist() ? "true" : "false");
  if (c.has_prequeue_opens_at()) {
    absl::StrAppend(&out, " prequeue_opens_at=", TimeUtil::ToString(c.prequeue_opens_at()));
  }
  if (c.has_opens_at()) absl::StrAppend(&out, " opens_at=", TimeUtil::ToString(c.opens_at()));
  if (!c.queue_seed().empty()) absl::StrAppend(&out, " queue_seed=", c.queue_seed());
  if (c.has_closes_at()) absl::StrAppend(&out, " closes_at=", TimeUtil::ToString(c.closes_at()));
  if (c.has_create_time()) absl::StrAppend(&out, " created=", TimeUtil::ToString(c.create_time()));
  if (c.has_close_time()) absl::StrAppend(&out, " closed=", TimeUtil::ToString(c.close_time()));
  if (c.has_hold_duration()) {
    absl::StrAppend(&out, " hold_duration=",
                    absl::FormatDuration(
                        absl::Milliseconds(TimeUtil::DurationToMilliseconds(c.hold_duration()))),
                    " held=", c.held_count());
  }
  if (c.has_max_active_holds()) absl::StrAppend(&out, " max_active_holds=", c.max_active_holds());
  return out;
}

std::string ApplicationText(const v1::Application& a) {
  std::string out = absl::StrCat("application ", a.id(), " campaign=", a.campaign_id(),
                                 " user=", Quoted(a.user_id()), " status=", StatusWord(a.status()));
  if (a.reason() != v1::REJECTION_REASON_UNSPECIFIED) {
    // REJECTION_REASON_CAMPAIGN_FULL -> campaign_full
    absl::StrAppend(&out, " reason=",
                    absl::AsciiStrToLower(absl::StripPrefix(v1::RejectionReason_Name(a.reason()),
                                                            "REJECTION_REASON_")));
  }
  if (!a.last_error().empty()) absl::StrAppend(&out, " last_error=", Quoted(a.last_error()));
  absl::StrAppend(&out, " attempts=", a.attempts());
  if (a.has_create_time()) absl::StrAppend(&out, " created=", TimeUtil::ToString(a.create_time()));
  if (a.has_decide_time()) absl::StrAppend(&out, " decided=", TimeUtil::ToString(a.decide_time()));
  if (a.has_hold_expires_at()) {
    absl::StrAppend(&out, " hold_expires_at=", TimeUtil::ToString(a.hold_expires_at()));
  }
  if (a.has_position()) {
    // "~" marks an estimate (more than 10,000 ahead).
    absl::StrAppend(&out, " position=", a.position_is_estimate() ? "~" : "", a.position());
  }
  if (a.has_estimated_wait()) {
    absl::StrAppend(&out, " estimated_wait=",
                    absl::FormatDuration(absl::Seconds(a.estimated_wait().seconds())));
  }
  return out;
}

std::string WatchText(const v1::Application& a) {
  std::string out = ApplicationText(a);
  if (a.status() == v1::APPLICATION_STATUS_WAITLISTED) absl::StrAppend(&out, " ", kWaitlistedNote);
  return out;
}

std::string QueueStatsText(const v1::QueueStats& s) {
  std::string out = absl::StrCat(
      "pending=", s.pending(), " waitlisted=", s.waitlisted(), " decided=", s.decided(),
      " approved=", s.approved(), " rejected=", s.rejected(), " cancelled=", s.cancelled(),
      " failed=", s.failed(), " held=", s.held(), " released=", s.released(),
      " expired=", s.expired(), " oldest_pending_age=", Seconds(s.oldest_pending_age()), "\n");
  for (const v1::CampaignQueueStats& c : s.campaigns()) {
    absl::StrAppend(
        &out, "campaign ", c.campaign_id(), " name=", Quoted(c.name()),
        " status=", CampaignStatusWord(c.status()),
        " cap=", c.has_max_participants() ? absl::StrCat(c.max_participants()) : "unlimited",
        " approved=", c.approved_count(), " held=", c.held(), " pending=", c.pending(),
        " waitlisted=", c.waitlisted(), " released=", c.released(), " expired=", c.expired(),
        " oldest_pending_age=", Seconds(c.oldest_pending_age()), c.stalled() ? " STALLED" : "",
        "\n");
  }
  if (s.stalled_campaign_ids_size() > 0) {
    absl::StrAppend(&out, "stalled campaigns:");
    for (int64_t id : s.stalled_campaign_ids()) absl::StrAppend(&out, " ", id);
    absl::StrAppend(&out, "\n");
  }
  return out;
}

std::string ToJson(const google::protobuf::Message& message) {
  // grpcurl's defaults (no -emit-defaults, no -keep-proto-names), which are
  // also the protobuf JSON mapping's: what one tool prints, so does the other.
  google::protobuf::util::JsonPrintOptions options;
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(message, &out, options).ok()) return "{}";
  return out;
}

}  // namespace campaignq::client
