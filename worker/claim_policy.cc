#include "worker/claim_policy.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "common/db/pg_status.h"

namespace campaignq::worker {
namespace {

// Successful batches after which a shrunken batch size doubles again.
constexpr int kSuccessesToGrow = 16;

// Campaigns to claim in the next batch after a successful one: a short batch
// means every campaign claimed ran dry (campaigns are small: take more); a
// full one, that the campaigns it reached were enough (those, no more, so
// that no campaign is locked for nothing).
int NextCampaignsPerBatch(const queue::BatchResult& result, int batch_size, int current, int most) {
  if (result.uncapped) return current;
  if (static_cast<int>(result.decisions.size()) < batch_size) return std::min(most, current * 2);
  int reached = 0;
  for (size_t i = 0; i < result.decisions.size(); ++i) {
    if (i == 0 || result.decisions[i].campaign_id != result.decisions[i - 1].campaign_id) ++reached;
  }
  return std::max(1, std::min(most, reached));
}

bool Contains(const std::vector<int64_t>& ids, int64_t id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

}  // namespace

ClaimPolicy::ClaimPolicy(ClaimPolicyOptions options, Jitter jitter)
    : options_(std::move(options)),
      jitter_(std::move(jitter)),
      cooldowns_(options_.campaign_backoff),
      batch_size_(options_.batch_size) {
  if (jitter_ == nullptr) {
    auto random = std::make_shared<absl::BitGen>();
    jitter_ = [random](const BackoffPolicy& policy, int attempt) {
      return JitteredDelay(policy, attempt, *random);
    };
  }
}

std::chrono::milliseconds ClaimPolicy::ConnectFailed() {
  return jitter_(options_.reconnect_backoff, connect_failures_++);
}

void ClaimPolicy::Connected(Clock::time_point now) {
  connect_failures_ = 0;
  plans_refreshed_ = now;
  suspect_.reset();
  batch_size_ = options_.batch_size;
  successes_since_shrink_ = 0;
  campaigns_per_batch_ = 1;
  unattributed_failures_ = 0;
  notified_.clear();
  hinted_.clear();
  expiry_due_ = now;
  expiry_failures_ = 0;
}

bool ClaimPolicy::PlansDue(Clock::time_point now) {
  if (now - plans_refreshed_ < options_.plan_refresh) return false;
  plans_refreshed_ = now;
  return true;
}

Claim ClaimPolicy::NextClaim(Clock::time_point now) {
  Claim claim;
  claim.window.batch_size = batch_size_;
  // First: a hold's expiry is promised within a time, a decision is not.
  if (options_.expire_holds && now >= expiry_due_) {
    claim.kind = Claim::Kind::kExpireHolds;
    return claim;
  }
  claim.window.max_campaigns = campaigns_per_batch_;
  claim.window.excluded_campaigns = cooldowns_.Active(now);
  std::vector<int64_t> notified = std::move(notified_);
  std::vector<int64_t> hinted = std::move(hinted_);
  notified_.clear();
  hinted_.clear();
  // A suspect backing off (its isolated retry failed transiently, or for a
  // fault of the database) waits like any campaign: retried at once, it
  // failed again at once, in a loop that logged an error per turn.
  if (suspect_.has_value() && !Contains(claim.window.excluded_campaigns, *suspect_)) {
    claim.kind = Claim::Kind::kIsolatedHead;
    claim.campaign_id = *suspect_;
    claim.window.batch_size = 1;
    return claim;
  }
  switch (options_.lock_mode) {
    case queue::LockMode::kNowait:
      claim.kind = Claim::Kind::kFairestNowait;
      return claim;
    case queue::LockMode::kBlocking:
      claim.kind = Claim::Kind::kFairestBlocking;
      return claim;
    case queue::LockMode::kSkipLocked:
      break;
  }
  // Not those backing off: the window claim takes them after their back-off.
  for (int64_t campaign : notified) {
    if (!Contains(claim.window.excluded_campaigns, campaign)) claim.notified.push_back(campaign);
  }
  if (!claim.notified.empty()) {
    claim.kind = Claim::Kind::kNotified;
    hinted_ = std::move(hinted);  // for the window claim after it
    return claim;
  }
  claim.kind = Claim::Kind::kByWindow;
  claim.window.hinted_campaigns = std::move(hinted);
  return claim;
}

Reaction ClaimPolicy::Observe(const Claim& claim, const queue::BatchResult& result,
                              bool connection_open, Clock::time_point now) {
  if (claim.kind == Claim::Kind::kExpireHolds) {
    return ObserveExpiry(claim, result, connection_open, now);
  }
  Reaction reaction;
  const int requested = claim.window.batch_size;
  if (result.lock_refused) {
    // Another worker holds it: it waits its turn, and this worker takes
    // the next fairest meanwhile.
    reaction.outcome = BatchOutcome::kLockRefused;
    cooldowns_.Failed(result.campaign_id, now);
    return reaction;
  }
  if (result.status.ok()) {
    unattributed_failures_ = 0;
    for (int64_t campaign : result.needs_lock) {
      if (!Contains(hinted_, campaign)) hinted_.push_back(campaign);
    }
    if (batch_size_ < options_.batch_size && ++successes_since_shrink_ >= kSuccessesToGrow) {
      batch_size_ = std::min(options_.batch_size, batch_size_ * 2);
      successes_since_shrink_ = 0;
    }
    // Other campaigns' batches while the suspect backs off leave it one.
    if (claim.kind == Claim::Kind::kIsolatedHead) suspect_.reset();
    if (result.campaign_id != 0) {
      reaction.outcome = BatchOutcome::kDecided;
      campaigns_per_batch_ = NextCampaignsPerBatch(result, requested, campaigns_per_batch_,
                                                   options_.max_campaigns_per_batch);
      for (int64_t campaign : result.campaign_ids) cooldowns_.Succeeded(campaign);
      if (static_cast<int>(result.decisions.size()) == requested) {
        reaction.wake_another = true;
        CarryNamed(claim, result);
        return reaction;  // there may be more: claim again at once
      }
      // The notified campaigns were decided up to their newest Apply, and
      // later ones come with a wake-up of their own: claiming again now
      // would only find nothing (at 500 Applies/s that second claim cost
      // more of PostgreSQL's CPU than the decision).
      if (!result.notified_only) return reaction;  // there may be more elsewhere
    } else if (claim.kind == Claim::Kind::kNotified && !result.notified_only) {
      return reaction;  // a notified campaign is capped or closed: the window claim
    }
    // No work this worker may take. A wake-up posted while this thread was
    // claiming is still there: nothing is missed.
    return Sleep(reaction, now);
  }

  if (result.status.code() == absl::StatusCode::kUnknown) {
    // The COMMIT's outcome is unknown: the decisions either all landed or
    // none did; the status guards make a retry safe either way.
    reaction.outcome = BatchOutcome::kCommitUnknown;
    reaction.next = Reaction::Next::kReconnect;
    return reaction;
  }
  if (db::IsConnectionLost(result.status) || !connection_open) {
    reaction.outcome = BatchOutcome::kConnectionLost;
    reaction.next = Reaction::Next::kReconnect;  // to the new primary after a failover
    return reaction;
  }
  if (!db::IsChargeableToApplication(result.status)) {
    // Transient (lock refused, deadlock, timeout) or a fault of the
    // database rather than of an application (out of memory, disk full,
    // I/O, internal error): retry later, charge nobody.
    reaction.outcome = BatchOutcome::kNotCharged;
    // (Deciding an uncapped campaign, 55P03 is the counter's short
    // lock_timeout, not the batch's size.)
    const std::string sqlstate = db::SqlState(result.status);
    const bool decide_timed_out =
        result.campaign_locked && (sqlstate == db::kSqlstateQueryCanceled ||
                                   (sqlstate == db::kSqlstateLockNotAvailable && !result.uncapped));
    if (decide_timed_out && requested > 1) {
      batch_size_ = std::max(1, requested / 2);
      successes_since_shrink_ = 0;
      reaction.shrunk_batch_size = batch_size_;
    }
    if (result.campaign_id != 0) {
      cooldowns_.Failed(result.campaign_id, now);
    } else {
      reaction.next = Reaction::Next::kPause;
      reaction.pause = jitter_(options_.campaign_backoff, unattributed_failures_++);
    }
    return reaction;
  }
  reaction.outcome = BatchOutcome::kCharged;
  if (result.campaign_ids.size() > 1) {
    // Which campaign? Retry one at a time; the single-campaign batch that
    // fails then isolates its head.
    campaigns_per_batch_ = 1;
    return reaction;
  }
  if (claim.kind != Claim::Kind::kIsolatedHead || result.isolated_application == 0) {
    suspect_ = result.campaign_id;
    return reaction;
  }
  reaction.next = Reaction::Next::kRecordFailure;
  reaction.campaign_id = claim.campaign_id;
  reaction.application_id = result.isolated_application;
  return reaction;
}

void ClaimPolicy::CarryNamed(const Claim& claim, const queue::BatchResult& result) {
  if (claim.kind == Claim::Kind::kNotified) {
    // And those the batch did not reach: step 0 goes in id order and stops
    // at a full batch. Not those it looked at and decided nothing of (held
    // by other workers, or empty): naming them again in every batch of a
    // storm would cost a statement each for nothing.
    const int64_t last = result.campaign_ids.empty() ? 0 : result.campaign_ids.back();
    for (int64_t campaign : claim.notified) {
      if ((campaign > last || Contains(result.campaign_ids, campaign)) &&
          !Contains(result.needs_lock, campaign)) {
        notified_.push_back(campaign);
      }
    }
    return;
  }
  for (int64_t campaign : result.campaign_ids) {
    if (claim.kind == Claim::Kind::kByWindow && Contains(claim.window.hinted_campaigns, campaign) &&
        !Contains(hinted_, campaign)) {
      hinted_.push_back(campaign);
    }
  }
}

Reaction ClaimPolicy::ObserveExpiry(const Claim& claim, const queue::BatchResult& result,
                                    bool connection_open, Clock::time_point now) {
  Reaction reaction;
  if (!result.status.ok()) {
    if (result.status.code() == absl::StatusCode::kUnknown) {
      reaction.outcome = BatchOutcome::kCommitUnknown;
      reaction.next = Reaction::Next::kReconnect;
    } else if (db::IsConnectionLost(result.status) || !connection_open) {
      reaction.outcome = BatchOutcome::kConnectionLost;
      reaction.next = Reaction::Next::kReconnect;
    } else {
      // No application to charge: an expiry decides nothing about one.
      // The thread goes on deciding meanwhile.
      reaction.outcome = BatchOutcome::kNotCharged;
      expiry_due_ = now + jitter_(options_.campaign_backoff, expiry_failures_++);
    }
    return reaction;
  }
  expiry_failures_ = 0;
  reaction.outcome = result.expired.empty() ? BatchOutcome::kNothing : BatchOutcome::kExpired;
  std::chrono::milliseconds next = options_.hold_probe;
  if (static_cast<int>(result.expired.size()) >= claim.window.batch_size) {
    next = std::chrono::milliseconds(0);  // there may be more due
  } else if (result.next_expiry_micros.has_value()) {
    next = *result.next_expiry_micros <= 0
               ? options_.held_retry
               : std::min(next, std::chrono::ceil<std::chrono::milliseconds>(
                                    std::chrono::microseconds(*result.next_expiry_micros)));
  }
  expiry_due_ = now + next;
  return reaction;  // then the usual claim
}

void ClaimPolicy::Woken(std::vector<int64_t> campaigns) { notified_ = std::move(campaigns); }

void ClaimPolicy::FailureRecorded(bool recorded, Clock::time_point now) {
  if (recorded || !suspect_.has_value())
    return;  // the head again: the next attempt, or the next head
  cooldowns_.Failed(*suspect_, now);
  suspect_.reset();
}

Reaction ClaimPolicy::Sleep(Reaction reaction, Clock::time_point now) const {
  reaction.next = Reaction::Next::kSleep;
  // Less than idle_wait when a campaign's back-off ends sooner: its pending
  // rows may have no wake-up of their own coming (their Applies were
  // notified before the failure, and a wake-up for another campaign
  // decides only that one), so the thread then claims the usual way
  // instead of leaving them to the poll interval.
  reaction.wait = options_.idle_wait;
  const std::optional<Clock::time_point> next = cooldowns_.NextExpiry(now);
  if (next.has_value()) {
    reaction.wait =
        std::min(reaction.wait, std::chrono::ceil<std::chrono::milliseconds>(*next - now));
  }
  if (options_.expire_holds) {
    reaction.wait = std::min(
        reaction.wait, std::max(std::chrono::milliseconds(0),
                                std::chrono::ceil<std::chrono::milliseconds>(expiry_due_ - now)));
  }
  reaction.campaigns_per_wake =
      options_.decide_window ? static_cast<size_t>(options_.max_campaigns_per_batch) : 1;
  return reaction;
}

}  // namespace campaignq::worker
