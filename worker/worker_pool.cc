#include "worker/worker_pool.h"

#include <memory>
#include <utility>

#include <pqxx/pqxx>

#include "common/db/pg_status.h"
#include "common/db/transaction.h"
#include "common/log.h"
#include "common/store/campaign_store.h"

namespace campaignq::worker {
namespace {

// Counts NOTIFYs on the channel; the loop only needs "something arrived".
class WakeUps : public pqxx::notification_receiver {
 public:
  WakeUps(pqxx::connection_base& connection, const std::string& channel)
      : pqxx::notification_receiver(connection, channel) {}
  void operator()(const std::string&, int) override { ++received_; }
  int64_t received() const { return received_; }

 private:
  int64_t received_ = 0;
};

// How long a thread blocks in one wait, so that Stop() is noticed promptly.
constexpr std::chrono::milliseconds kStopCheckInterval{200};
// The longest idle wait in pooler-safe mode, where no NOTIFY can wake us.
constexpr std::chrono::milliseconds kPoolerPollInterval{100};

}  // namespace

WorkerPool::WorkerPool(WorkerOptions options, WorkerMetrics* metrics)
    : options_(std::move(options)), metrics_(metrics) {}

WorkerPool::~WorkerPool() { Stop(); }

void WorkerPool::Start() {
  for (int i = 0; i < options_.concurrency; ++i) {
    threads_.emplace_back([this, i] { RunThread(i); });
  }
}

void WorkerPool::Stop() {
  stopping_.store(true);
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

void WorkerPool::RunThread(int index) {
  const std::string name = absl::StrCat("worker-", index);
  absl::BitGen random;
  CampaignCooldowns cooldowns(options_.campaign_backoff);
  int connect_failures = 0;

  while (!stopping_.load()) {
    // (Re)connect. The previous connection's locks died with it.
    auto connected = db::Connect(options_.database_url, options_.connect);
    if (!connected.ok()) {
      const auto delay = JitteredDelay(options_.reconnect_backoff, connect_failures++, random);
      LogWarning(name, "cannot connect (retrying in ", delay.count(), " ms): ",
                 connected.status().message());
      for (auto until = Clock::now() + delay; Clock::now() < until && !stopping_.load();) {
        std::this_thread::sleep_for(std::min<Clock::duration>(kStopCheckInterval, until - Clock::now()));
      }
      continue;
    }
    connect_failures = 0;
    std::unique_ptr<pqxx::connection> connection = *std::move(connected);
    // Through a transaction pooler LISTEN cannot work (the server session
    // changes under us): poll instead, at most kPoolerPollInterval apart.
    std::unique_ptr<WakeUps> wake_ups;
    if (!db::PoolerSafeMode()) {
      try {
        wake_ups = std::make_unique<WakeUps>(*connection, store::kPendingChannel);
      } catch (const std::exception& error) {
        LogWarning(name, "LISTEN failed: ", error.what());
        continue;
      }
    }
    const auto idle_wait = wake_ups != nullptr
                               ? options_.poll_interval
                               : std::min<std::chrono::milliseconds>(options_.poll_interval,
                                                                     kPoolerPollInterval);
    // A campaign whose batch failed deterministically is retried one
    // application at a time, so the failure lands on the right one.
    std::optional<int64_t> suspect;

    while (!stopping_.load()) {
      BatchRequest request;
      request.lock_mode = options_.lock_mode;
      request.batch_size = suspect.has_value() ? 1 : options_.batch_size;
      request.excluded_campaigns = cooldowns.Active(Clock::now());
      request.only_campaign = suspect;
      // Counted before the claim: a NOTIFY for work the claim's snapshot
      // missed must end the idle wait below at once, whenever libpqxx
      // happens to consume it.
      const int64_t wake_ups_before_claim = wake_ups != nullptr ? wake_ups->received() : 0;
      BatchResult result = DecideOneBatch(*connection, request);

      if (result.status.ok()) {
        if (suspect.has_value()) suspect.reset();
        if (result.campaign_id != 0) {
          cooldowns.Succeeded(result.campaign_id);
          metrics_->RecordBatch(result);
          LogDebug(name, "decided ", result.decisions.size(), " campaign_id=", result.campaign_id);
          continue;  // there may be more: claim again at once
        }
        // No work this worker may take: sleep until a NOTIFY or the poll
        // interval, in short slices so that Stop() is prompt.
        try {
          for (auto until = Clock::now() + idle_wait;
               Clock::now() < until && !stopping_.load() &&
               (wake_ups == nullptr || wake_ups->received() == wake_ups_before_claim);) {
            const auto slice = std::min<Clock::duration>(kStopCheckInterval, until - Clock::now());
            if (wake_ups == nullptr) {
              std::this_thread::sleep_for(slice);
              continue;
            }
            const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(slice).count();
            connection->await_notification(micros / 1000000, micros % 1000000);
          }
        } catch (const std::exception& error) {
          LogWarning(name, "lost the connection while idle: ", error.what());
          break;
        }
        continue;
      }

      const std::string sqlstate = db::SqlState(result.status);
      if (db::IsTransient(result.status)) {
        metrics_->RecordRetry(sqlstate);
        if (result.campaign_id != 0) cooldowns.Failed(result.campaign_id, Clock::now());
        if (result.status.code() == absl::StatusCode::kUnavailable || !connection->is_open()) {
          LogWarning(name, "database connection lost: ", result.status.message());
          break;  // reconnect
        }
        LogDebug(name, "transient error, backing off campaign_id=", result.campaign_id, ": ",
                 result.status.message());
        continue;
      }
      if (result.status.code() == absl::StatusCode::kUnknown) {
        // The COMMIT's outcome is unknown: the decisions either all landed
        // or none did; the status guards make a retry safe either way.
        LogWarning(name, "commit outcome unknown, reconnecting: ", result.status.message());
        break;
      }
      LogError(name, "deciding campaign_id=", result.campaign_id,
               " failed: ", result.status.message());
      if (!suspect.has_value()) {
        suspect = result.campaign_id;
        continue;
      }
      auto recorded = RecordHeadFailure(*connection, *suspect, std::string(result.status.message()),
                                        options_.max_attempts);
      if (recorded.ok() && *recorded == "failed") metrics_->RecordFailed();
      if (!recorded.ok()) {
        LogError(name, "could not record the failure: ", recorded.status().message());
        cooldowns.Failed(*suspect, Clock::now());
        suspect.reset();
      }
    }
  }
}

}  // namespace campaignq::worker
