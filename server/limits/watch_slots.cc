#include "server/limits/watch_slots.h"

#include "absl/strings/str_cat.h"
#include "common/status_details.h"

namespace campaignq::server {

WatchSlots::Slot::~Slot() {
  if (slots_ != nullptr) slots_->Give(key_);
}

WatchSlots::WatchSlots(int per_key, int total, absl::Duration retry_after, SlotNames names)
    : per_key_(per_key), total_(total), retry_after_(retry_after), names_(names) {}

absl::StatusOr<WatchSlots::Slot> WatchSlots::Take(absl::string_view key) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = open_.find(std::string(key));
  const int open_for_key = it == open_.end() ? 0 : it->second;
  absl::Status full;
  if (per_key_ > 0 && open_for_key >= per_key_) {
    full = absl::ResourceExhaustedError(absl::StrCat("too many open ", names_.streams,
                                                     " for this caller (at most ", per_key_,
                                                     "); end one or retry later"));
    SetErrorReason(full, names_.per_key_reason);
  } else if (total_ > 0 && open_total_ >= total_) {
    full = absl::ResourceExhaustedError(
        absl::StrCat("the server has too many open ", names_.streams, "; retry later"));
    SetErrorReason(full, names_.total_reason);
  }
  if (!full.ok()) {
    SetRetryDelay(full, retry_after_);
    return full;
  }
  ++open_[std::string(key)];
  ++open_total_;
  return Slot(this, std::string(key));
}

void WatchSlots::Give(const std::string& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = open_.find(key);
  if (it == open_.end()) return;
  if (--it->second == 0) open_.erase(it);
  --open_total_;
}

int WatchSlots::open(absl::string_view key) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = open_.find(std::string(key));
  return it == open_.end() ? 0 : it->second;
}

int WatchSlots::open_total() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return open_total_;
}

}  // namespace campaignq::server
