#pragma once
// Counts open streams of one kind: at most `per_key` for one key (a
// principal, or the peer before authentication) and `total` for the
// server. WatchApplication streams: a watch holds a handler thread for its
// whole life, so without these a few clients could take every thread.
// Server reflection streams (reflection_service.h): they hold no thread,
// but memory, and anyone with a token may open them. Thread-safe.

#include <mutex>
#include <string>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace campaignq::server {

// What a full budget is called in its RESOURCE_EXHAUSTED: the message
// ("too many open <streams> ...") and the ErrorInfo reasons
// (docs/limits.md lists them).
struct SlotNames {
  const char* streams;
  const char* per_key_reason;
  const char* total_reason;
};
inline constexpr SlotNames kWatchSlotNames = {"watches", "TOO_MANY_WATCHES", "SERVER_WATCHES_FULL"};
inline constexpr SlotNames kReflectionSlotNames = {
    "reflection streams", "TOO_MANY_REFLECTION_STREAMS", "SERVER_REFLECTION_STREAMS_FULL"};

class WatchSlots {
 public:
  // A taken slot; given back on destruction.
  class Slot {
   public:
    Slot(Slot&& other) noexcept : slots_(other.slots_), key_(std::move(other.key_)) {
      other.slots_ = nullptr;
    }
    Slot& operator=(Slot&&) = delete;
    Slot(const Slot&) = delete;
    ~Slot();

   private:
    friend class WatchSlots;
    Slot(WatchSlots* slots, std::string key) : slots_(slots), key_(std::move(key)) {}
    WatchSlots* slots_;
    std::string key_;
  };

  // Values < 1 mean no limit of that kind. `retry_after` is the
  // RetryInfo delay sent when full.
  WatchSlots(int per_key, int total, absl::Duration retry_after = absl::Seconds(5),
             SlotNames names = kWatchSlotNames);
  WatchSlots(const WatchSlots&) = delete;
  WatchSlots& operator=(const WatchSlots&) = delete;

  // A slot, or RESOURCE_EXHAUSTED (with a retry delay) when `key` has
  // per_key streams open or the server `total`.
  absl::StatusOr<Slot> Take(absl::string_view key);

  int open(absl::string_view key) const;
  int open_total() const;

 private:
  void Give(const std::string& key);

  const int per_key_;
  const int total_;
  const absl::Duration retry_after_;
  const SlotNames names_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, int> open_ ABSL_GUARDED_BY(mutex_);
  int open_total_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace campaignq::server
