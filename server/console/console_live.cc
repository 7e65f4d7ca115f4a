#include "server/console/console_live.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "common/log.h"
#include "common/store/validation.h"
#include "common/store/worker_heartbeat.h"

namespace campaignq::server::console {
namespace {

constexpr char kComponent[] = "console";
// GetQueueStats' notion of a stalled campaign, as the gRPC default.
constexpr std::chrono::seconds kStallThreshold{30};

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double Seconds(const google::protobuf::Duration& duration) {
  return duration.seconds() + duration.nanos() / 1e9;
}

// "APPLICATION_STATUS_PENDING" -> "pending".
std::string WithoutPrefix(const std::string& name, absl::string_view prefix) {
  std::string word = absl::StartsWith(name, prefix) ? name.substr(prefix.size()) : name;
  absl::AsciiStrToLower(&word);
  return word;
}

}  // namespace

int64_t MillisOf(const google::protobuf::Timestamp& timestamp) {
  return timestamp.seconds() * 1000 + timestamp.nanos() / 1000000;
}

std::string StatusWord(v1::CampaignStatus status) {
  return WithoutPrefix(v1::CampaignStatus_Name(status), "CAMPAIGN_STATUS_");
}

std::string StatusWord(v1::ApplicationStatus status) {
  return WithoutPrefix(v1::ApplicationStatus_Name(status), "APPLICATION_STATUS_");
}

ConsoleLive::ConsoleLive(store::CampaignStore* store, db::ConnectionPool* workers_pool,
                         const DecisionListener* listener, ConsoleLiveOptions options)
    : store_(store), workers_pool_(workers_pool), listener_(listener), options_(options) {}

ConsoleLive::~ConsoleLive() { Stop(); }

void ConsoleLive::Start() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (started_ || stopping_) return;
  started_ = true;
  thread_ = std::thread([this] { Run(); });
}

void ConsoleLive::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    latest_.stopped = true;
  }
  wake_.notify_all();
  published_.notify_all();
  if (thread_.joinable()) thread_.join();
}

ConsoleLive::Viewer::Viewer(ConsoleLive* live) : live_(live) {
  {
    std::lock_guard<std::mutex> lock(live_->mutex_);
    ++live_->viewers_;
    live_->refresh_requested_ = true;
  }
  live_->wake_.notify_all();
}

ConsoleLive::Viewer::~Viewer() {
  std::lock_guard<std::mutex> lock(live_->mutex_);
  --live_->viewers_;
}

int ConsoleLive::viewers() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return viewers_;
}

ConsoleLive::Snapshot ConsoleLive::Latest() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return latest_;
}

ConsoleLive::Snapshot ConsoleLive::WaitNewer(uint64_t seen,
                                             std::chrono::steady_clock::time_point deadline) const {
  std::unique_lock<std::mutex> lock(mutex_);
  published_.wait_until(lock, deadline, [&] { return stopping_ || latest_.seq > seen; });
  return latest_;
}

void ConsoleLive::Run() {
  using Clock = std::chrono::steady_clock;
  uint64_t seen = listener_ != nullptr ? listener_->AnyGeneration() : 0;
  Clock::time_point last_build = Clock::now() - options_.min_interval;
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    // 1. Wait for a decision, a new viewer, Stop() or the idle refresh, in
    //    slices of min_interval: the listener's wait cannot see our flags.
    const Clock::time_point idle_deadline = Clock::now() + options_.idle_interval;
    bool changed = false;
    while (!stopping_ && !refresh_requested_ && !changed && Clock::now() < idle_deadline) {
      const Clock::time_point slice = std::min(idle_deadline, Clock::now() + options_.min_interval);
      if (listener_ != nullptr && !listener_->stopped()) {
        lock.unlock();
        changed = listener_->WaitForAnyChange(seen, slice) != seen;
        lock.lock();
      } else {
        wake_.wait_until(lock, slice, [this] { return stopping_ || refresh_requested_; });
      }
    }
    if (stopping_) break;
    const bool wanted = changed || refresh_requested_ || viewers_ > 0;
    if (!wanted) continue;
    // 2. Coalesce: at most one snapshot per min_interval, however many
    //    notifications arrive meanwhile.
    wake_.wait_until(lock, last_build + options_.min_interval, [this] { return stopping_; });
    if (stopping_) break;
    refresh_requested_ = false;
    if (listener_ != nullptr) seen = listener_->AnyGeneration();
    lock.unlock();
    last_build = Clock::now();
    absl::StatusOr<nlohmann::json> overview = BuildOverview();
    if (!overview.ok()) {
      LogWarning(kComponent, "live snapshot failed: ", overview.status().ToString());
    }
    lock.lock();
  }
}

absl::StatusOr<nlohmann::json> ConsoleLive::BuildOverview() {
  std::lock_guard<std::mutex> build_lock(build_mutex_);
  // The overview lists the first kMaxPageSize campaigns (by id) that are
  // open or have pending work; campaigns_truncated says when there are more.
  absl::StatusOr<v1::QueueStats> stats =
      store_->GetQueueStats(std::chrono::duration_cast<std::chrono::microseconds>(kStallThreshold),
                            {store::kMaxPageSize, ""});
  if (!stats.ok()) return stats.status();
  absl::StatusOr<std::vector<store::WorkerStatus>> workers = store::ListWorkers(workers_pool_);
  if (!workers.ok()) return workers.status();

  const int64_t now_ms = NowMillis();
  nlohmann::json overview = {
      {"time_ms", now_ms},
      {"pending", stats->pending()},
      {"waitlisted", stats->waitlisted()},
      {"approved", stats->approved()},
      {"rejected", stats->rejected()},
      {"cancelled", stats->cancelled()},
      {"failed", stats->failed()},
      {"oldest_pending_age_s", Seconds(stats->oldest_pending_age())},
  };
  nlohmann::json worker_counts = {{"alive", 0}, {"gone", 0}, {"stopped", 0}};
  for (const store::WorkerStatus& worker : *workers) {
    worker_counts[store::WorkerStateName(worker.state)] =
        worker_counts[store::WorkerStateName(worker.state)].get<int>() + 1;
  }
  overview["workers"] = worker_counts;
  nlohmann::json campaigns = nlohmann::json::array();
  for (const v1::CampaignQueueStats& c : stats->campaigns()) {
    campaigns.push_back({
        {"id", c.campaign_id()},
        {"name", c.name()},
        {"cap", c.has_max_participants() ? nlohmann::json(c.max_participants()) : nullptr},
        {"approved", c.approved_count()},
        {"waitlisted", c.waitlisted()},
        {"pending", c.pending()},
        {"status", StatusWord(c.status())},
        {"stalled", c.stalled()},
        {"oldest_pending_age_s", Seconds(c.oldest_pending_age())},
    });
  }
  overview["campaigns"] = campaigns;
  overview["campaigns_truncated"] = !stats->next_page_token().empty();

  {
    std::lock_guard<std::mutex> lock(mutex_);
    const int64_t out_of_pending = stats->waitlisted() + stats->approved() + stats->rejected() +
                                   stats->cancelled() + stats->failed();
    rate_.push_back({now_ms, out_of_pending});
    const int64_t rate_window_ms = options_.rate_window.count() * 1000;
    while (!rate_.empty() && rate_.front().time_ms < now_ms - rate_window_ms) rate_.pop_front();
    nlohmann::json rate = nlohmann::json::array();
    double last = 0;
    for (size_t i = 1; i < rate_.size(); ++i) {
      const int64_t dt = rate_[i].time_ms - rate_[i - 1].time_ms;
      if (dt <= 0) continue;
      // Deletions (retention) can make the total shrink: never a negative rate.
      const int64_t delta =
          std::max<int64_t>(0, rate_[i].out_of_pending - rate_[i - 1].out_of_pending);
      last = delta * 1000.0 / dt;
      rate.push_back({rate_[i].time_ms, last});
    }
    overview["rate"] = rate;
    overview["decided_per_second"] = last;

    const int64_t fill_window_ms = options_.fill_window.count() * 1000;
    latest_campaigns_ = nlohmann::json::object();
    for (const nlohmann::json& c : campaigns) {
      const int64_t id = c["id"].get<int64_t>();
      latest_campaigns_[std::to_string(id)] = c;
      fill_[id].push_back({now_ms, c["approved"], c["waitlisted"], c["pending"]});
    }
    for (auto it = fill_.begin(); it != fill_.end();) {
      std::deque<nlohmann::json>& samples = it->second;
      while (!samples.empty() && samples.front()[0].get<int64_t>() < now_ms - fill_window_ms) {
        samples.pop_front();
      }
      it = samples.empty() ? fill_.erase(it) : std::next(it);
    }
  }
  Publish(overview);
  return overview;
}

void ConsoleLive::Publish(const nlohmann::json& overview) {
  std::string text = overview.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++latest_.seq;
    latest_.json = std::move(text);
  }
  published_.notify_all();
}

nlohmann::json ConsoleLive::FillHistory(int64_t campaign_id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  nlohmann::json samples = nlohmann::json::array();
  auto it = fill_.find(campaign_id);
  if (it != fill_.end()) {
    for (const nlohmann::json& sample : it->second) samples.push_back(sample);
  }
  return samples;
}

nlohmann::json ConsoleLive::LatestCampaign(int64_t campaign_id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = latest_campaigns_.find(std::to_string(campaign_id));
  return it == latest_campaigns_.end() ? nlohmann::json(nullptr) : *it;
}

}  // namespace campaignq::server::console
