#include "common/queue/claim_window.h"

#include <algorithm>

namespace campaignq::queue {

WindowPick PickCandidates(std::vector<WindowCampaign> window, const std::vector<int64_t>& excluded,
                          int limit) {
  std::sort(window.begin(), window.end(),
            [](const WindowCampaign& a, const WindowCampaign& b) { return a.head_id < b.head_id; });
  WindowPick pick;
  for (const WindowCampaign& campaign : window) {
    if (static_cast<int>(pick.capped.size() + pick.leading_uncapped.size()) >= limit) break;
    if (campaign.paused ||
        std::find(excluded.begin(), excluded.end(), campaign.campaign_id) != excluded.end()) {
      continue;
    }
    if (!campaign.uncapped) {
      pick.capped.push_back(campaign.campaign_id);
    } else if (pick.capped.empty()) {
      pick.leading_uncapped.push_back(campaign.campaign_id);
    }
  }
  return pick;
}

std::optional<int64_t> ClaimWindow::StartOrRebase(Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mutex_);
  const bool due = !rebased_once_ || now - rebased_at_ >= options_.rebase_every;
  const bool asked =
      rebase_asked_at_.has_value() && now - *rebase_asked_at_ < options_.rebase_every;
  if (due && !asked) {
    rebase_asked_at_ = now;
    return std::nullopt;
  }
  // Before the first rebase has answered, from the head, as if there were
  // no mark.
  return mark_;
}

void ClaimWindow::Rebased(std::optional<int64_t> lowest_head, Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mutex_);
  // Nothing claimable pending: every row that becomes pending later has a
  // newer id than those read, or is found by the next rebase; the mark stays.
  if (lowest_head.has_value()) mark_ = *lowest_head;
  rebased_once_ = true;
  rebased_at_ = now;
  rebase_asked_at_.reset();
}

std::optional<int64_t> ClaimWindow::Scanned(int64_t from,
                                            const std::vector<WindowCampaign>& window) {
  if (window.empty()) return std::nullopt;
  std::optional<int64_t> lowest_claimable;
  int64_t last = from, rows = 0;
  for (const WindowCampaign& campaign : window) {
    last = std::max(last, campaign.last_id);
    rows += campaign.rows;
    if (!campaign.paused && (!lowest_claimable || campaign.head_id < *lowest_claimable)) {
      lowest_claimable = campaign.head_id;
    }
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    mark_ = lowest_claimable.value_or(last + 1);
  }
  if (rows < options_.window_rows) return std::nullopt;
  return last + 1;
}

int64_t ClaimWindow::mark() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return mark_;
}

}  // namespace campaignq::queue
