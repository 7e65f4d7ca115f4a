#pragma once
// Human-readable and JSON renderings of the service's messages.

#include <string>

#include "campaignq/v1/campaignq.pb.h"
#include "google/protobuf/message.h"

namespace campaignq::client {

// Returns one line: "campaign 7 name=\"x\" status=open paused=false cap=10
// approved=3 waitlist=true [prequeue_opens_at=T] [opens_at=T] [queue_seed=S]
// [closes_at=T] [created=T] [closed=T]".
std::string CampaignText(const v1::Campaign& campaign);

// Returns one line: "application 12 campaign=7 user=\"u\" status=approved ...".
std::string ApplicationText(const v1::Application& application);

// What `watch` adds to a waitlisted state: the stream stays open because
// WAITLISTED is not final (campaignq.proto, WatchApplication).
inline constexpr char kWaitlistedNote[] =
    "waitlisted (not final: a cancelled seat can still approve it)";

// ApplicationText, followed by kWaitlistedNote when it is waitlisted.
std::string WatchText(const v1::Application& application);

// Returns a few lines: the totals, then one line per campaign.
std::string QueueStatsText(const v1::QueueStats& stats);

// Returns the message as single-line JSON, the same JSON value grpcurl
// prints for it by default: the proto3 JSON mapping with lowerCamelCase
// json names (campaignId), fields at their zero value (0, "", false, the
// UNSPECIFIED enum, empty lists) left out unless they have explicit
// presence, int64 as strings, enums by name, timestamps in RFC 3339.
// grpcurl indents over several lines; this is one line per message, so that
// `watch --json` stays one state per line.
std::string ToJson(const google::protobuf::Message& message);

// Returns "open", "closed", or "unspecified".
std::string CampaignStatusWord(v1::CampaignStatus status);

}  // namespace campaignq::client
