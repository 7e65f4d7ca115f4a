#pragma once
// The console's live view: ONE thread per server, however many tabs are
// open, turns the decision notifications (DecisionListener, the server's
// one LISTEN connection) into overview snapshots, coalesced: at most one
// per `min_interval` while decisions flow, one per `idle_interval` while a
// viewer is connected and nothing happens (so that workers going away and
// the decided/s chart stay current), none at all otherwise. Every
// Server-Sent Events stream sends the same latest snapshot; none of them
// queries the database.
//
// It also keeps, in memory, the recent history the charts draw: the
// decision rate (last `rate_window`) and each campaign's fill (last
// `fill_window`), since this server started.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "common/db/pool.h"
#include "common/store/campaign_store.h"
#include "server/decision_listener.h"

namespace campaignq::server::console {

struct ConsoleLiveOptions {
  std::chrono::milliseconds min_interval{300};
  std::chrono::milliseconds idle_interval{2000};
  std::chrono::seconds rate_window{300};
  std::chrono::seconds fill_window{600};
};

class ConsoleLive {
 public:
  // Everything must outlive this. `listener` may be null (then only the
  // idle refresh runs); `workers_pool` is where worker heartbeats are read.
  ConsoleLive(store::CampaignStore* store, db::ConnectionPool* workers_pool,
              const DecisionListener* listener, ConsoleLiveOptions options = {});
  ConsoleLive(const ConsoleLive&) = delete;
  ConsoleLive& operator=(const ConsoleLive&) = delete;
  ~ConsoleLive();  // Stop()s

  void Start();  // idempotent
  // Ends the thread and wakes every WaitNewer (they then return stopped).
  void Stop();  // idempotent

  struct Snapshot {
    uint64_t seq = 0;  // 0: none yet
    std::string json;  // the overview (see BuildOverview)
    bool stopped = false;
  };
  Snapshot Latest() const;
  // The first snapshot with seq > `seen`, or the latest one when `deadline`
  // passes first (compare its seq), or stopped once Stop() ran.
  Snapshot WaitNewer(uint64_t seen, std::chrono::steady_clock::time_point deadline) const;

  // A connected viewer, for as long as it lives: keeps the idle refresh on
  // and asks for a snapshot at once.
  class Viewer {
   public:
    explicit Viewer(ConsoleLive* live);
    ~Viewer();
    Viewer(const Viewer&) = delete;
    Viewer& operator=(const Viewer&) = delete;

   private:
    ConsoleLive* live_;
  };
  int viewers() const;

  // Reads the database now, records the history, publishes the snapshot
  // to every viewer and returns it: queue counts, oldest pending age,
  // workers alive, every open campaign (or one with pending work), and the
  // decided/s series:
  //   {"time_ms", "pending", "waitlisted", "approved", "rejected",
  //    "cancelled", "failed", "decided_per_second", "oldest_pending_age_s",
  //    "workers": {"alive", "gone", "stopped"},
  //    "campaigns": [{"id", "name", "cap" (null: unlimited), "approved",
  //                   "waitlisted", "pending", "status", "stalled",
  //                   "oldest_pending_age_s"}],
  //    "rate": [[time_ms, decided per second], ...]}
  absl::StatusOr<nlohmann::json> BuildOverview();

  // Fill samples of one campaign: [[time_ms, approved, waitlisted, pending], ...].
  nlohmann::json FillHistory(int64_t campaign_id) const;
  // The latest counts of one campaign as in "campaigns" above; null when the
  // last snapshot did not list it (closed, nothing pending).
  nlohmann::json LatestCampaign(int64_t campaign_id) const;

 private:
  struct RateSample {
    int64_t time_ms;
    int64_t out_of_pending;  // every application no longer pending
  };
  void Run();
  void Publish(const nlohmann::json& overview);

  store::CampaignStore* const store_;
  db::ConnectionPool* const workers_pool_;
  const DecisionListener* const listener_;
  const ConsoleLiveOptions options_;

  std::mutex build_mutex_;  // one BuildOverview at a time
  mutable std::mutex mutex_;
  mutable std::condition_variable published_;
  std::condition_variable wake_;
  Snapshot latest_ ABSL_GUARDED_BY(mutex_);
  nlohmann::json latest_campaigns_ ABSL_GUARDED_BY(mutex_) = nlohmann::json::object();
  std::deque<RateSample> rate_ ABSL_GUARDED_BY(mutex_);
  std::map<int64_t, std::deque<nlohmann::json>> fill_ ABSL_GUARDED_BY(mutex_);
  int viewers_ ABSL_GUARDED_BY(mutex_) = 0;
  bool refresh_requested_ ABSL_GUARDED_BY(mutex_) = false;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  bool started_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

// JSON helpers shared with the API.
int64_t MillisOf(const google::protobuf::Timestamp& timestamp);  // 0 when unset
std::string StatusWord(v1::CampaignStatus status);               // "open", "closed", ...
std::string StatusWord(v1::ApplicationStatus status);            // "pending", ...

}  // namespace campaignq::server::console
