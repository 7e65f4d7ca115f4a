#include "common/store/apply_queue.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status_details.h"
#include "common/store/validation.h"

namespace campaignq::store {
namespace {

// Moves the twins of `apply` whose deadline is at or before `now` to
// `expired` with `exceeded`.
void TakeExpiredTwins(QueuedApply& apply, absl::Time now, const absl::Status& exceeded,
                      ApplyBatch* expired) {
  auto& twins = apply.twins;
  auto in_time = std::stable_partition(twins.begin(), twins.end(),
                                       [now](const auto& twin) { return twin->deadline <= now; });
  for (auto it = twins.begin(); it != in_time; ++it) {
    (*it)->result = exceeded;
    expired->push_back(std::move(*it));
  }
  twins.erase(twins.begin(), in_time);
}

// The oldest twin of `apply` (which must have one), with the younger ones
// as its own twins.
std::unique_ptr<QueuedApply> Heir(QueuedApply& apply) {
  std::unique_ptr<QueuedApply> heir = std::move(apply.twins.front());
  heir->twins.assign(std::make_move_iterator(apply.twins.begin() + 1),
                     std::make_move_iterator(apply.twins.end()));
  apply.twins.clear();
  return heir;
}

}  // namespace

int CallerShare(int max_queued, int callers) {
  return std::max(1, max_queued / (std::max(callers, 1) + 1));
}

ApplyQueue::ApplyQueue(int max_queued) : max_queued_(max_queued) {}

void ApplyQueue::Count(const QueuedApply& apply, int delta) {
  waiting_ += delta;
  auto it = waiting_by_caller_.try_emplace(apply.caller, 0).first;
  it->second += delta;
  if (it->second == 0) waiting_by_caller_.erase(it);
}

void ApplyQueue::CountWithTwins(const QueuedApply& apply, int delta) {
  Count(apply, delta);
  for (const auto& twin : apply.twins) Count(*twin, delta);
}

absl::Status ApplyQueue::Admit(std::unique_ptr<QueuedApply>& apply) {
  if (waiting_ >= max_queued_) {
    absl::Status full = absl::ResourceExhaustedError(
        absl::StrCat("the server has ", waiting_,
                     " Applies waiting to be written, as many as it queues; retry "
                     "in a moment"));
    SetErrorReason(full, "APPLY_QUEUE_FULL");
    return full;
  }
  const auto own = waiting_by_caller_.find(apply->caller);
  const int own_waiting = own == waiting_by_caller_.end() ? 0 : own->second;
  const int callers =
      static_cast<int>(waiting_by_caller_.size()) + (own == waiting_by_caller_.end() ? 1 : 0);
  const int share = CallerShare(max_queued_, callers);
  if (own_waiting >= share) {
    absl::Status over = absl::ResourceExhaustedError(absl::StrCat(
        "this caller has ", own_waiting,
        " Applies waiting to be written, its share of the server's "
        "queue of ",
        max_queued_, " while ", callers, callers == 1 ? " caller has" : " callers have",
        " Applies waiting; retry once some of them are answered"));
    SetErrorReason(over, "APPLY_QUEUE_SHARE");
    return over;
  }
  Count(*apply, 1);
  auto [slot, added] = by_key_.try_emplace(Key(apply->campaign_id, apply->user_id));
  if (!added) {
    (*slot->second)->twins.push_back(std::move(apply));
    return absl::OkStatus();
  }
  slot->second = order_.insert(order_.end(), std::move(apply));
  return absl::OkStatus();
}

void ApplyQueue::PutBack(std::unique_ptr<QueuedApply> apply) {
  CountWithTwins(*apply, 1);
  auto [slot, added] = by_key_.try_emplace(Key(apply->campaign_id, apply->user_id));
  if (!added) {
    std::vector<std::unique_ptr<QueuedApply>> its_twins = std::move(apply->twins);
    auto& twins = (*slot->second)->twins;
    twins.push_back(std::move(apply));
    for (auto& twin : its_twins) twins.push_back(std::move(twin));
    return;
  }
  slot->second = order_.insert(order_.begin(), std::move(apply));
}

absl::Time ApplyQueue::EarliestDeadline() const {
  absl::Time earliest = absl::InfiniteFuture();
  for (const auto& apply : order_) {
    earliest = std::min(earliest, apply->deadline);
    for (const auto& twin : apply->twins) earliest = std::min(earliest, twin->deadline);
  }
  return earliest;
}

void ApplyQueue::TakeExpired(absl::Time now, const absl::Status& exceeded, ApplyBatch* expired) {
  const size_t before = expired->size();
  for (auto it = order_.begin(); it != order_.end();) {
    QueuedApply& apply = **it;
    TakeExpiredTwins(apply, now, exceeded, expired);
    if (apply.deadline > now) {
      ++it;
      continue;
    }
    apply.result = exceeded;
    std::unique_ptr<QueuedApply> heir = apply.twins.empty() ? nullptr : Heir(apply);
    expired->push_back(std::move(*it));
    if (heir != nullptr) {
      *it = std::move(heir);  // keeps the place in line and the key
      ++it;
    } else {
      by_key_.erase(Key(apply.campaign_id, apply.user_id));
      it = order_.erase(it);
    }
  }
  for (size_t i = before; i < expired->size(); ++i) Count(*(*expired)[i], -1);
}

ApplyBatch ApplyQueue::TakeBatch(size_t max_batch) {
  ApplyBatch batch;
  const size_t size = std::min(order_.size(), std::max<size_t>(1, max_batch));
  batch.reserve(size);
  while (batch.size() < size) {
    std::unique_ptr<QueuedApply> apply = std::move(order_.front());
    order_.pop_front();
    by_key_.erase(Key(apply->campaign_id, apply->user_id));
    CountWithTwins(*apply, -1);
    batch.push_back(std::move(apply));
  }
  return batch;
}

absl::Time BatchDeadline(const ApplyBatch& batch) {
  absl::Time earliest = absl::InfiniteFuture();
  for (const auto& apply : batch) earliest = std::min(earliest, apply->deadline);
  return earliest;
}

void SplitAtDeadline(ApplyBatch& batch, absl::Time bound, absl::Time now,
                     const absl::Status& exceeded, ApplyBatch* answered) {
  const absl::Time cut = std::max(now, bound);
  ApplyBatch rest;
  for (auto& apply : batch) {
    if (apply->deadline > cut) {
      rest.push_back(std::move(apply));
      continue;
    }
    apply->result = exceeded;
    std::unique_ptr<QueuedApply> heir = SettleTwins(*apply, cut, exceeded, answered);
    answered->push_back(std::move(apply));
    if (heir != nullptr) rest.push_back(std::move(heir));
  }
  batch = std::move(rest);
}

std::unique_ptr<QueuedApply> SettleTwins(QueuedApply& leader, absl::Time now,
                                         const absl::Status& exceeded, ApplyBatch* answered) {
  if (leader.twins.empty()) return nullptr;
  std::optional<absl::StatusOr<v1::Application>> outcome =
      TwinOutcome(leader.campaign_id, leader.user_id, leader.result);
  if (outcome.has_value()) {
    for (auto& twin : leader.twins) {
      twin->result = *outcome;
      answered->push_back(std::move(twin));
    }
    leader.twins.clear();
    return nullptr;
  }
  TakeExpiredTwins(leader, now, exceeded, answered);
  if (leader.twins.empty()) return nullptr;
  return Heir(leader);
}

absl::Status AlreadyApplied(int64_t campaign_id, const std::string& user_id,
                            const v1::Application& application) {
  absl::Status status = absl::AlreadyExistsError(absl::StrCat(
      "user '", user_id, "' already applied to campaign ", campaign_id, ": application ",
      application.id(), " is ", ApplicationStatusWord(application.status())));
  SetErrorReason(status, "ALREADY_APPLIED");
  SetErrorMetadata(status, "application_id", absl::StrCat(application.id()));
  SetErrorMetadata(status, "status", ApplicationStatusWord(application.status()));
  SetErrorMetadata(status, "campaign_id", absl::StrCat(campaign_id));
  return status;
}

std::optional<absl::StatusOr<v1::Application>> TwinOutcome(
    int64_t campaign_id, const std::string& user_id, const absl::StatusOr<v1::Application>& twin) {
  if (twin.ok()) return AlreadyApplied(campaign_id, user_id, *twin);
  if (twin.status().code() == absl::StatusCode::kDeadlineExceeded ||
      twin.status().code() == absl::StatusCode::kUnknown) {
    return std::nullopt;
  }
  return twin;
}

}  // namespace campaignq::store
