#include "common/store/rows.h"

#include <string>

#include "common/store/validation.h"

namespace campaignq::store {

void SetMicros(int64_t micros, google::protobuf::Timestamp* timestamp) {
  int64_t seconds = micros / 1000000;
  int64_t remainder = micros % 1000000;
  if (remainder < 0) {
    remainder += 1000000;
    --seconds;
  }
  timestamp->set_seconds(seconds);
  timestamp->set_nanos(static_cast<int32_t>(remainder * 1000));
}

void SetMicros(int64_t micros, google::protobuf::Duration* duration) {
  duration->set_seconds(micros / 1000000);
  duration->set_nanos(static_cast<int32_t>((micros % 1000000) * 1000));
}

v1::Campaign CampaignFromRow(const pqxx::row& row, int first) {
  v1::Campaign campaign;
  campaign.set_id(row[first + 0].as<int64_t>());
  campaign.set_name(row[first + 1].as<std::string>());
  if (!row[first + 2].is_null()) campaign.set_max_participants(row[first + 2].as<int32_t>());
  campaign.set_approved_count(row[first + 3].as<int32_t>());
  campaign.set_waitlist(row[first + 4].as<bool>());
  campaign.set_status(row[first + 5].as<std::string>() == "closed" ? v1::CAMPAIGN_STATUS_CLOSED
                                                                   : v1::CAMPAIGN_STATUS_OPEN);
  SetMicros(row[first + 6].as<int64_t>(), campaign.mutable_create_time());
  if (!row[first + 7].is_null())
    SetMicros(row[first + 7].as<int64_t>(), campaign.mutable_close_time());
  if (!row[first + 8].is_null())
    SetMicros(row[first + 8].as<int64_t>(), campaign.mutable_opens_at());
  if (!row[first + 9].is_null())
    SetMicros(row[first + 9].as<int64_t>(), campaign.mutable_closes_at());
  campaign.set_paused(row[first + 10].as<bool>());
  if (!row[first + 11].is_null())
    SetMicros(row[first + 11].as<int64_t>(), campaign.mutable_prequeue_opens_at());
  if (!row[first + 12].is_null()) campaign.set_queue_seed(row[first + 12].as<std::string>());
  if (!row[first + 13].is_null()) {
    SetMicros(row[first + 13].as<int64_t>() * 1000, campaign.mutable_hold_duration());
  }
  campaign.set_held_count(row[first + 14].as<int32_t>());
  if (!row[first + 15].is_null()) campaign.set_max_active_holds(row[first + 15].as<int32_t>());
  return campaign;
}

v1::Application ApplicationFromRow(const pqxx::row& row, int first) {
  v1::Application application;
  application.set_id(row[first + 0].as<int64_t>());
  application.set_campaign_id(row[first + 1].as<int64_t>());
  application.set_user_id(row[first + 2].as<std::string>());
  application.set_status(ApplicationStatusFromWord(row[first + 3].as<std::string>()));
  if (!row[first + 4].is_null()) {
    application.set_reason(RejectionReasonFromWord(row[first + 4].as<std::string>()));
  }
  if (!row[first + 5].is_null()) application.set_last_error(row[first + 5].as<std::string>());
  application.set_attempts(row[first + 6].as<int32_t>());
  SetMicros(row[first + 7].as<int64_t>(), application.mutable_create_time());
  if (!row[first + 8].is_null())
    SetMicros(row[first + 8].as<int64_t>(), application.mutable_decide_time());
  SetMicros(row[first + 9].as<int64_t>(), application.mutable_update_time());
  if (!row[first + 10].is_null())
    SetMicros(row[first + 10].as<int64_t>(), application.mutable_hold_expires_at());
  return application;
}

}  // namespace campaignq::store
