#pragma once
// Result rows to protobuf messages. Column orders are documented at the top
// of sql/queries/campaigns.sql and applications.sql.

#include <pqxx/row>

#include "campaignq/v1/campaignq.pb.h"

namespace campaignq::store {

// Reads the campaign columns starting at column `first`.
v1::Campaign CampaignFromRow(const pqxx::row& row, int first = 0);
// Reads the application columns starting at column `first`.
v1::Application ApplicationFromRow(const pqxx::row& row, int first = 0);

void SetMicros(int64_t micros, google::protobuf::Timestamp* timestamp);
void SetMicros(int64_t micros, google::protobuf::Duration* duration);

}  // namespace campaignq::store
