#include "worker/worker_pool.h"

#include <algorithm>
#include <memory>
#include <pqxx/pqxx>
#include <utility>

#include "absl/strings/numbers.h"
#include "common/db/pg_status.h"
#include "common/db/transaction.h"
#include "common/log.h"
#include "common/store/campaign_store.h"
#include "worker/claim_policy.h"

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

// Thread `index`'s claim policy, from the pool's options.
ClaimPolicyOptions PolicyOptions(const WorkerOptions& options, int index) {
  ClaimPolicyOptions policy;
  // One thread per process expires holds: their expiry batches are short
  // and rare next to decisions, and every process has one, so a process
  // killed leaves the others to it.
  policy.expire_holds = index == 0;
  policy.lock_mode = options.lock_mode;
  policy.batch_size = options.batch_size;
  policy.max_campaigns_per_batch = options.max_campaigns_per_batch;
  // Through a transaction pooler no NOTIFY arrives: poll more often.
  policy.idle_wait = options.connect.pooler_safe ? std::min<std::chrono::milliseconds>(
                                                       options.poll_interval, kPoolerPollInterval)
                                                 : options.poll_interval;
  policy.decide_window = options.decide_window.count() > 0;
  policy.campaign_backoff = options.campaign_backoff;
  policy.reconnect_backoff = options.reconnect_backoff;
  return policy;
}

// The I/O of one claim: the entry point the policy chose.
queue::BatchResult Run(queue::ClaimProtocol& protocol, const Claim& claim) {
  switch (claim.kind) {
    case Claim::Kind::kIsolatedHead:
      return protocol.DecideIsolatedHead(claim.campaign_id);
    case Claim::Kind::kNotified:
      return protocol.DecideNotified(claim.notified, claim.window.batch_size);
    case Claim::Kind::kByWindow:
      return protocol.DecideByWindow(claim.window);
    case Claim::Kind::kFairestNowait:
      return protocol.DecideFairestNowait(claim.window.batch_size, claim.window.excluded_campaigns);
    case Claim::Kind::kFairestBlocking:
      return protocol.DecideFairestBlocking(claim.window.batch_size,
                                            claim.window.excluded_campaigns);
    case Claim::Kind::kExpireHolds:
      return protocol.ExpireDueHolds(claim.window.batch_size);
  }
  queue::BatchResult unknown;
  unknown.status = absl::InternalError("unknown claim kind");
  return unknown;
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

// Asks the policy, does the I/O, tells the policy (worker/claim_policy.h):
// what to claim next is decided there.
void WorkerPool::RunThread(int index) {
  const std::string name = absl::StrCat("worker-", index);
  ClaimPolicy policy(PolicyOptions(options_, index));

  while (!stopping_.load()) {
    last_turn_[index] = SteadyNanos();
    // (Re)connect. The previous connection's locks died with it.
    auto connected = db::Connect(options_.database_url, options_.connect);
    if (!connected.ok()) {
      const auto delay = policy.ConnectFailed();
      LogWarning(name, "cannot connect (retrying in ", delay.count(),
                 " ms): ", connected.status().message());
      PauseUnlessStopping(delay);
      continue;
    }
    policy.Connected(Clock::now());
    std::unique_ptr<db::Connection> connection = *std::move(connected);
    connected_threads_.fetch_add(1);
    // Counts this thread as connected for exactly as long as `connection`.
    struct Disconnected {
      std::atomic<int>* count;
      ~Disconnected() { count->fetch_sub(1); }
    } disconnected{&connected_threads_};
    queue::ClaimProtocol protocol(connection.get(), &claim_window_);

    bool reconnect = false;
    while (!stopping_.load() && !reconnect) {
      last_turn_[index] = SteadyNanos();
      if (policy.PlansDue(Clock::now())) protocol.DiscardCachedPlans();
      const Claim claim = policy.NextClaim(Clock::now());
      const queue::BatchResult result = Run(protocol, claim);
      const Reaction reaction = policy.Observe(claim, result, connection->is_open(), Clock::now());

      switch (reaction.outcome) {
        case BatchOutcome::kDecided:
          metrics_->RecordBatch(result);
          LogDebug(name, "decided ", result.decisions.size(), " campaign_id=", result.campaign_id);
          break;
        case BatchOutcome::kExpired:
          metrics_->RecordExpiries(result);
          LogDebug(name, "expired ", result.expired.size(), " holds");
          break;
        case BatchOutcome::kNothing:
          break;
        case BatchOutcome::kLockRefused:
          metrics_->RecordRetry(db::kSqlstateLockNotAvailable);
          break;
        case BatchOutcome::kCommitUnknown:
          LogWarning(name, "commit outcome unknown, reconnecting: ", result.status.message());
          break;
        case BatchOutcome::kConnectionLost:
          metrics_->RecordRetry(db::SqlState(result.status));
          LogWarning(name, "database connection lost: ", result.status.message());
          break;
        case BatchOutcome::kNotCharged:
          metrics_->RecordRetry(db::SqlState(result.status));
          if (reaction.shrunk_batch_size > 0) {
            LogWarning(name, "batch timed out, deciding at most ", reaction.shrunk_batch_size,
                       " at a time");
          }
          if (!db::IsTransient(result.status)) {
            LogError(name, "deciding campaign_id=", result.campaign_id,
                     " failed (not charged to any application): ", result.status.message());
          }
          break;
        case BatchOutcome::kCharged:
          LogError(name, "deciding campaign_id=", result.campaign_id,
                   " failed: ", result.status.message());
          break;
      }

      switch (reaction.next) {
        case Reaction::Next::kClaim:
          if (reaction.wake_another) wake_.Post();
          break;
        case Reaction::Next::kSleep:
          // A wake-up (NOTIFY via the listener), the poll interval, or the
          // end of a back-off.
          policy.Woken(
              wake_.Wait(reaction.wait, reaction.campaigns_per_wake, options_.decide_window)
                  .campaigns);
          break;
        case Reaction::Next::kPause:
          PauseUnlessStopping(reaction.pause);
          break;
        case Reaction::Next::kReconnect:
          reconnect = true;  // to the new primary after a failover
          break;
        case Reaction::Next::kRecordFailure: {
          auto recorded =
              protocol.RecordFailure(reaction.campaign_id, reaction.application_id,
                                     std::string(result.status.message()), options_.max_attempts);
          if (recorded.ok() && *recorded == "failed") metrics_->RecordFailed();
          if (!recorded.ok()) {
            LogError(name, "could not record the failure: ", recorded.status().message());
          }
          policy.FailureRecorded(recorded.ok(), Clock::now());
          break;
        }
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
