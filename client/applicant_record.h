#pragma once
// What storm knows about one applicant: what it sent, when, what came back,
// and (after the storm) how the application was decided.

#include <cstdint>
#include <string>

#include "campaignq/v1/campaignq.pb.h"

namespace campaignq::client {

struct ApplicantRecord {
  int64_t campaign_id = 0;
  std::string user_id;
  // 0 until known: from the Apply reply, or from listing after the storm.
  int64_t application_id = 0;
  // Monotonic nanoseconds since the storm started. send_ns is taken before
  // the FIRST attempt (any attempt may be the one that landed) and reply_ns
  // after the LAST reply (the application surely existed by then), so the
  // real-time FCFS rule built on them never blames the server wrongly.
  int64_t send_ns = 0;
  int64_t reply_ns = 0;
  // grpc::StatusCode of the last attempt, as an int.
  int code = 0;
  int attempts = 0;
  // The server confirmed the application: the reply was OK, or a retry saw
  // ALREADY_EXISTS (an earlier attempt landed).
  bool acknowledged = false;
  // The final state, filled in from the applications fetched after the storm.
  v1::ApplicationStatus status = v1::APPLICATION_STATUS_UNSPECIFIED;
  std::string reason;
};

// Rejected because the campaign was full: the FCFS "loser" outcome, like
// WAITLISTED. Rejections for a closed campaign say nothing about order.
inline constexpr char kReasonCampaignFull[] = "campaign_full";

}  // namespace campaignq::client
