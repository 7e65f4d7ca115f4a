#pragma once
// Human-readable and JSON renderings of the service's messages.

#include <string>

#include "campaignq/v1/campaignq.pb.h"
#include "google/protobuf/message.h"

namespace campaignq::client {

// Returns one line: "campaign 7 name=\"x\" status=open cap=10 approved=3 ...".
std::string CampaignText(const v1::Campaign& campaign);

// Returns one line: "application 12 campaign=7 user=\"u\" status=approved ...".
std::string ApplicationText(const v1::Application& application);

// Returns a few lines: the totals, then one line per campaign.
std::string QueueStatsText(const v1::QueueStats& stats);

// Returns the message as single-line JSON with the proto's field names
// (snake_case), so scripts can use the names in campaignq.proto.
std::string ToJson(const google::protobuf::Message& message);

// Returns "open", "closed", or "unspecified".
std::string CampaignStatusWord(v1::CampaignStatus status);

}  // namespace campaignq::client
