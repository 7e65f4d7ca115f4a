#include "common/store/list_plan.h"

#include "statements.h"

namespace campaignq::store {

// The routing before migration 0007, for the failing-before run.
ApplicationListPlan PlanApplicationList(int64_t campaign_id, const std::string& status_word,
                                        const std::string& user_id, int64_t after_id,
                                        int limit) {
  const std::string after = std::to_string(after_id);
  const std::string rows = std::to_string(limit);
  if (campaign_id != 0) {
    return {sql::kApplicationListOfCampaignAfter,
            {std::to_string(campaign_id), status_word, after, rows, user_id}};
  }
  if (status_word == "waitlisted") {
    return {sql::kApplicationListWaitlistedAfter, {after, rows, user_id}};
  }
  return {sql::kApplicationListAfter, {status_word, after, rows, user_id}};
}

}  // namespace campaignq::store
