#include "worker/worker_pool.h"

#include <algorithm>
#include <memory>
#include <pqxx/pqxx>
#include <stdexcept>
#include <utility>

#include "absl/strings/numbers.h"
#include "common/db/pg_status.h"
#include "common/db/transaction.h"
#include "common/log.h"
#include "common/store/campaign_store.h"

namespace campaignq::worker {
namespace {

int64_t SteadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// How long a thread blocks in one wait, so that Stop() is noticed promptly.
constexpr std::chrono::milliseconds kStopCheckInterval{200};
// The longest idle wait in pooler-safe mode, where no NOTIFY can wake us.
constexpr std::chrono::milliseconds kPoolerPollInterval{100};
// How often a thread drops its cached plans (ClaimProtocol::DiscardCachedPlans):
// short enough that a table growing from empty gets plans for its size
// before a backlog builds (a soak fell behind within 20-40 s), long enough
// that re-planning costs nothing measurable.
constexpr std::chrono::seconds kPlanRefreshInterval{5};
// Successful batches after which a shrunken batch size doubles again.
constexpr int kSuccessesToGrow = 16;

// Campaigns to claim in the next batch after a successful one: a short batch
// means every campaign claimed ran dry (campaigns are small: take more); a
// full one, that the campaigns it reached were enough (those, no more, so
// that no campaign is locked for nothing).
int NextCampaignsPerBatch(const queue::BatchResult& result, const queue::BatchRequest& request,
                          int current, int most) {
  if (result.uncapped) return current;
  if (static_cast<int>(result.decisions.size()) < request.batch_size) {
    return std::min(most, current * 2);
  }
  int reached = 0;
  for (size_t i = 0; i < result.decisions.size(); ++i) {
    if (i == 0 || result.decisions[i].campaign_id != result.decisions[i - 1].campaign_id) ++reached;
  }
  return std::max(1, std::min(most, reached));
}

// How long an idle thread waits for a wake-up: `idle_wait`, or less when a
// campaign's back-off ends sooner. Its pending rows may have no wake-up of
// their own coming (their Applies were notified before the failure, and a
// wake-up for another campaign decides only that one), so the thread then
// claims the usual way instead of leaving them to the poll interval.
std::chrono::milliseconds UntilBackOffEnds(const CampaignCooldowns& cooldowns,
                                           std::chrono::milliseconds idle_wait) {
  const Clock::time_point now = Clock::now();
  const std::optional<Clock::time_point> next = cooldowns.NextExpiry(now);
  if (!next.has_value()) return idle_wait;
  return std::min(idle_wait, std::chrono::ceil<std::chrono::milliseconds>(*next - now));
}

}  // namespace

WorkerPool::WorkerPool(WorkerOptions options, WorkerMetrics* metrics)
    : options_(std::move(options)), metrics_(metrics), wake_(options_.concurrency) {}

WorkerPool::~WorkerPool() { Stop(); }

void WorkerPool::Start() {
  last_turn_ = std::make_unique<std::atomic<int64_t>[]>(options_.concurrency);
  for (int i = 0; i < options_.concurrency; ++i) last_turn_[i] = SteadyNanos();
  for (int i = 0; i < options_.concurrency; ++i) {
    threads_.emplace_back([this, i] { RunThread(i); });
  }
  db::NotificationListenerOptions listen;
  listen.database_url = options_.database_url;
  listen.connect = options_.connect;
  listen.connect.application_name += "-listener";  // apart in pg_stat_activity
  listen.channel = store::kPendingChannel;
  listen.reconnect_backoff = options_.reconnect_backoff;
  listener_ = std::make_unique<db::NotificationListener>(
      std::move(listen),
      [this](absl::string_view payload) {
        // campaignq_pending's payload is the campaign id (QueueNotifyPending).
        int64_t campaign_id = 0;
        if (absl::SimpleAtoi(payload, &campaign_id) && campaign_id > 0) {
          wake_.PostCampaign(campaign_id);
        } else {
          wake_.Post();
        }
      },
      [this](uint64_t) { wake_.Post(); });
  listener_->Start();
}

void WorkerPool::Stop() {
  stopping_.store(true);
  wake_.Interrupt();
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  if (listener_ != nullptr) listener_->Stop();
}

absl::Status WorkerPool::Liveness(std::chrono::steady_clock::duration max_silence) const {
  if (last_turn_ == nullptr) return absl::OkStatus();  // not started
  const int64_t now = SteadyNanos();
  for (int i = 0; i < options_.concurrency; ++i) {
    const int64_t silent = now - last_turn_[i].load();
    if (silent > std::chrono::duration_cast<std::chrono::nanoseconds>(max_silence).count()) {
      return absl::UnavailableError(
          absl::StrCat("worker-", i, " has made no progress for ", silent / 1000000000, " s"));
    }
  }
  return absl::OkStatus();
}

absl::Status WorkerPool::Readiness() const {
  if (connected_threads_.load() > 0) return absl::OkStatus();
  return absl::UnavailableError("no worker thread is connected to the database");
}

void WorkerPool::RunThread(int index) {
  const std::string name = absl::StrCat("worker-", index);
  absl::BitGen random;
  CampaignCooldowns cooldowns(options_.campaign_backoff);
  int connect_failures = 0;

  while (!stopping_.load()) {
    last_turn_[index] = SteadyNanos();
    // (Re)connect. The previous connection's locks died with it.
    auto connected = db::Connect(options_.database_url, options_.connect);
    if (!connected.ok()) {
      const auto delay = JitteredDelay(options_.reconnect_backoff, connect_failures++, random);
      LogWarning(name, "cannot connect (retrying in ", delay.count(),
                 " ms): ", connected.status().message());
      PauseUnlessStopping(delay);
      continue;
    }
    connect_failures = 0;
    std::unique_ptr<db::Connection> connection = *std::move(connected);
    connected_threads_.fetch_add(1);
    // Counts this thread as connected for exactly as long as `connection`.
    struct Disconnected {
      std::atomic<int>* count;
      ~Disconnected() { count->fetch_sub(1); }
    } disconnected{&connected_threads_};
    // Through a transaction pooler no NOTIFY arrives: poll more often.
    const auto idle_wait =
        options_.connect.pooler_safe
            ? std::min<std::chrono::milliseconds>(options_.poll_interval, kPoolerPollInterval)
            : options_.poll_interval;
    // A campaign whose batch failed deterministically is retried one
    // application at a time (its head, isolated), so that a failure is
    // charged to exactly the application that caused it.
    std::optional<int64_t> suspect;
    queue::ClaimProtocol claim(connection.get(), &claim_window_);
    // Shrinks when batches time out (a role's statement_timeout or
    // lock_timeout shorter than a full batch takes) and grows back after
    // a run of successes, so that such a batch is not retried forever.
    int batch_size = options_.batch_size;
    int successes_since_shrink = 0;
    // Capped campaigns to lock per batch (WorkerOptions::max_campaigns_per_batch).
    int campaigns_per_batch = 1;
    // Consecutive transient failures that no campaign can be blamed for
    // (the claim statement itself failed): backed off here, not hot-looped.
    int unattributed_failures = 0;
    // The campaigns the last wake-up named: the next batch decides them
    // directly (BatchRequest::notified_campaigns).
    std::vector<int64_t> notified;
    // Those of them that only the usual claim decides (capped or closed):
    // candidates of the next batch (BatchRequest::hinted_campaigns).
    std::vector<int64_t> hinted;

    Clock::time_point plans_refreshed = Clock::now();

    while (!stopping_.load()) {
      last_turn_[index] = SteadyNanos();
      if (Clock::now() - plans_refreshed >= kPlanRefreshInterval) {
        claim.DiscardCachedPlans();
        plans_refreshed = Clock::now();
      }
      queue::BatchRequest request;
      request.lock_mode = options_.lock_mode;
      request.batch_size = suspect.has_value() ? 1 : batch_size;
      request.max_campaigns = campaigns_per_batch;
      request.excluded_campaigns = cooldowns.Active(Clock::now());
      request.only_campaign = suspect;
      request.isolate_head = suspect.has_value();
      if (!suspect.has_value() && request.lock_mode == queue::LockMode::kSkipLocked) {
        // Not those backing off: the usual claim takes them after their back-off.
        for (int64_t campaign : notified) {
          if (std::find(request.excluded_campaigns.begin(), request.excluded_campaigns.end(),
                        campaign) == request.excluded_campaigns.end()) {
            request.notified_campaigns.push_back(campaign);
          }
        }
      }
      notified.clear();
      if (!suspect.has_value()) request.hinted_campaigns = std::move(hinted);
      hinted.clear();
      queue::BatchResult result = claim.DecideBatch(request);

      if (result.status.ok()) {
        unattributed_failures = 0;
        hinted = std::move(result.needs_lock);
        if (batch_size < options_.batch_size && ++successes_since_shrink >= kSuccessesToGrow) {
          batch_size = std::min(options_.batch_size, batch_size * 2);
          successes_since_shrink = 0;
        }
        if (suspect.has_value()) suspect.reset();
        if (result.campaign_id != 0) {
          campaigns_per_batch = NextCampaignsPerBatch(result, request, campaigns_per_batch,
                                                      options_.max_campaigns_per_batch);
          for (int64_t campaign : result.campaign_ids) cooldowns.Succeeded(campaign);
          metrics_->RecordBatch(result);
          LogDebug(name, "decided ", result.decisions.size(), " campaign_id=", result.campaign_id);
          // A full batch suggests a backlog: bring one more idle thread in.
          if (static_cast<int>(result.decisions.size()) == request.batch_size) {
            wake_.Post();
            continue;  // there may be more: claim again at once
          }
          // The notified campaigns were decided up to their newest Apply,
          // and later ones come with a wake-up of their own: claiming again
          // now would only find nothing (at 500 Applies/s that second claim
          // cost more of PostgreSQL's CPU than the decision).
          if (!result.notified_only) continue;  // there may be more elsewhere
        } else if (!request.notified_campaigns.empty() && !result.notified_only) {
          continue;  // a notified campaign is capped or closed: the usual claim
        }
        // No work this worker may take: sleep until a wake-up (NOTIFY via
        // the listener) or the poll interval. A wake-up posted while this
        // thread was claiming is still there: nothing is missed.
        // One campaign per transaction without a window: a batch over
        // several holds each one's counter until its COMMIT, and the other
        // worker processes, woken for the same campaigns, queue behind it.
        const int campaigns_per_wake =
            options_.decide_window.count() > 0 ? options_.max_campaigns_per_batch : 1;
        notified = wake_
                       .Wait(UntilBackOffEnds(cooldowns, idle_wait), campaigns_per_wake,
                             options_.decide_window)
                       .campaigns;
        continue;
      }

      const std::string sqlstate = db::SqlState(result.status);
      if (result.status.code() == absl::StatusCode::kUnknown) {
        // The COMMIT's outcome is unknown: the decisions either all landed
        // or none did; the status guards make a retry safe either way.
        LogWarning(name, "commit outcome unknown, reconnecting: ", result.status.message());
        break;
      }
      if (db::IsConnectionLost(result.status) || !connection->is_open()) {
        metrics_->RecordRetry(sqlstate);
        LogWarning(name, "database connection lost: ", result.status.message());
        break;  // reconnect (to the new primary after a failover)
      }
      if (!db::IsChargeableToApplication(result.status)) {
        // Transient (lock refused, deadlock, timeout) or a fault of the
        // database rather than of an application (out of memory, disk
        // full, I/O, internal error): retry later, charge nobody.
        metrics_->RecordRetry(sqlstate);
        // (Deciding an uncapped campaign, 55P03 is the counter's short
        // lock_timeout, not the batch's size.)
        const bool decide_timed_out =
            result.campaign_locked &&
            (sqlstate == db::kSqlstateQueryCanceled ||
             (sqlstate == db::kSqlstateLockNotAvailable && !result.uncapped));
        if (decide_timed_out && request.batch_size > 1) {
          batch_size = std::max(1, request.batch_size / 2);
          successes_since_shrink = 0;
          LogWarning(name, "batch timed out, deciding at most ", batch_size, " at a time");
        }
        if (!db::IsTransient(result.status)) {
          LogError(name, "deciding campaign_id=", result.campaign_id,
                   " failed (not charged to any application): ", result.status.message());
        }
        if (result.campaign_id != 0) {
          cooldowns.Failed(result.campaign_id, Clock::now());
        } else {
          PauseUnlessStopping(
              JitteredDelay(options_.campaign_backoff, unattributed_failures++, random));
        }
        continue;
      }
      LogError(name, "deciding campaign_id=", result.campaign_id,
               " failed: ", result.status.message());
      if (result.campaign_ids.size() > 1) {
        // Which campaign? Retry one at a time; the single-campaign batch
        // that fails then isolates its head as below.
        campaigns_per_batch = 1;
        continue;
      }
      if (!suspect.has_value() || result.isolated_application == 0) {
        suspect = result.campaign_id;
        continue;
      }
      auto recorded =
          claim.RecordFailure(*suspect, result.isolated_application,
                              std::string(result.status.message()), options_.max_attempts);
      if (recorded.ok() && *recorded == "failed") metrics_->RecordFailed();
      if (!recorded.ok()) {
        LogError(name, "could not record the failure: ", recorded.status().message());
        cooldowns.Failed(*suspect, Clock::now());
        suspect.reset();
      }
    }
  }
}

void WorkerPool::PauseUnlessStopping(Clock::duration delay) {
  for (auto until = Clock::now() + delay; Clock::now() < until && !stopping_.load();) {
    std::this_thread::sleep_for(
        std::min<Clock::duration>(kStopCheckInterval, until - Clock::now()));
  }
}

}  // namespace campaignq::worker
