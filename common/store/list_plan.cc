#include "common/store/list_plan.h"

#include "statements.h"

namespace campaignq::store {

ApplicationListPlan PlanApplicationList(int64_t campaign_id, const std::string& status_word,
                                        const std::string& user_id, int64_t after_id, int limit) {
  const std::string after = std::to_string(after_id);
  const std::string rows = std::to_string(limit);
  if (campaign_id != 0) {
    if (user_id.empty() && (status_word == "pending" || status_word == "waitlisted")) {
      return {sql::kApplicationListQueuedOfCampaignAfter,
              {std::to_string(campaign_id), status_word, after, rows}};
    }
    // One campaign: with a user id, its one row through
    // applications_one_per_user (campaign_id, user_id).
    return {sql::kApplicationListOfCampaignAfter,
            {std::to_string(campaign_id), status_word, after, rows, user_id}};
  }
  if (!user_id.empty()) {
    // Before the user id, not after the status: a user's waitlisted rows
    // are among that user's rows, not every campaign's waitlist.
    return {sql::kApplicationListOfUserAfter, {user_id, status_word, after, rows}};
  }
  if (status_word == "waitlisted") {
    return {sql::kApplicationListWaitlistedAfter, {after, rows, user_id}};
  }
  return {sql::kApplicationListAfter, {status_word, after, rows, user_id}};
}

}  // namespace campaignq::store
