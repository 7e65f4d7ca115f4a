#include "common/store/worker_heartbeat.h"

#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/db/transaction.h"
#include "common/log.h"
#include "statements.h"

namespace campaignq::store {
namespace {

constexpr char kComponent[] = "heartbeat";

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "unknown";
  return name;
}

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

db::PoolOptions OneConnection(const WorkerHeartbeatOptions& options) {
  db::PoolOptions pool;
  pool.url = options.database_url;
  pool.connect = options.connect;
  pool.max_connections = 1;
  pool.acquire_timeout = options.interval;
  return pool;
}

const absl::Status& StatusOf(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& result) {
  return result.status();
}

// Runs `body` in one transaction on a connection of `pool`; a connection
// that broke is discarded so the next call opens a fresh one. No retry: the
// next beat (or the next page load) is the retry.
template <typename Body>
auto OnPool(db::ConnectionPool* pool, Body&& body)
    -> decltype(body(std::declval<db::ReadCommittedTransaction&>())) {
  auto connection = pool->Acquire();
  if (!connection.ok()) return connection.status();
  auto result = db::InTransaction(**connection, body);
  const absl::StatusCode code = StatusOf(result).code();
  if (code == absl::StatusCode::kUnavailable || code == absl::StatusCode::kUnknown) {
    connection->Discard();
  }
  return result;
}

}  // namespace

std::string DefaultWorkerId(const std::string& host, int pid, int64_t started_micros) {
  return absl::StrCat(host, ":", pid, ":", started_micros);
}

WorkerHeartbeat::WorkerHeartbeat(WorkerHeartbeatOptions options)
    : options_(std::move(options)),
      host_(options_.host.empty() ? HostName() : options_.host),
      pid_(options_.pid != 0 ? options_.pid : static_cast<int>(getpid())),
      started_micros_(NowMicros()),
      worker_id_(options_.worker_id.empty() ? DefaultWorkerId(host_, pid_, started_micros_)
                                            : options_.worker_id),
      pool_(OneConnection(options_)) {}

WorkerHeartbeat::~WorkerHeartbeat() { Stop(); }

void WorkerHeartbeat::Start() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (started_) return;
  started_ = true;
  thread_ = std::thread([this] { Run(); });
}

void WorkerHeartbeat::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    if (!started_) return;
  }
  stop_requested_.notify_all();
  thread_.join();
  if (absl::Status status = BeatOnce(/*stopped=*/true); !status.ok()) {
    LogWarning(kComponent, "could not record the stop: ", status.ToString());
  }
}

void WorkerHeartbeat::Run() {
  bool failing = false;
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    const absl::Status status = BeatOnce();
    if (!status.ok() && !failing) {
      LogWarning(kComponent, "heartbeat failed (retrying every interval): ", status.ToString());
    } else if (status.ok() && failing) {
      LogInfo(kComponent, "heartbeat recovered");
    }
    failing = !status.ok();
    lock.lock();
    stop_requested_.wait_for(lock, options_.interval, [this] { return stopping_; });
  }
}

WorkerTotals WorkerHeartbeat::LastMinute() {
  const auto now = std::chrono::steady_clock::now();
  samples_.push_back({now, options_.totals ? options_.totals() : WorkerTotals{}});
  // Keep the newest sample at least a minute old as the baseline.
  while (samples_.size() > 1 && now - samples_[1].at >= std::chrono::minutes(1)) {
    samples_.pop_front();
  }
  const WorkerTotals& latest = samples_.back().totals;
  const WorkerTotals& base = samples_.front().totals;
  return {latest.decided - base.decided, latest.errors - base.errors};
}

absl::Status WorkerHeartbeat::BeatOnce(bool stopped) {
  std::lock_guard<std::mutex> lock(beat_mutex_);
  const WorkerTotals minute = LastMinute();
  // Pruning is rare work for whichever worker gets there: about once a minute.
  const int prune_every =
      std::max<int>(1, static_cast<int>(std::chrono::minutes(1) / options_.interval));
  const bool prune = beats_++ % prune_every == 0;
  return OnPool(&pool_, [&](db::ReadCommittedTransaction& txn) -> absl::Status {
    db::Exec(txn, sql::kWorkerHeartbeatUpsert, worker_id_, host_, pid_, options_.lock_mode,
             options_.threads, static_cast<int>(options_.interval.count()), started_micros_,
             minute.decided, minute.errors, stopped);
    if (prune) {
      db::Exec(
          txn, sql::kWorkerHeartbeatPrune,
          static_cast<int64_t>(
              std::chrono::duration_cast<std::chrono::microseconds>(options_.prune_after).count()));
    }
    return absl::OkStatus();
  });
}

const char* WorkerStateName(WorkerStatus::State state) {
  switch (state) {
    case WorkerStatus::State::kAlive:
      return "alive";
    case WorkerStatus::State::kStopped:
      return "stopped";
    case WorkerStatus::State::kGone:
      return "gone";
  }
  return "gone";
}

absl::StatusOr<std::vector<WorkerStatus>> ListWorkers(db::ConnectionPool* pool) {
  return OnPool(
      pool, [&](db::ReadCommittedTransaction& txn) -> absl::StatusOr<std::vector<WorkerStatus>> {
        std::vector<WorkerStatus> workers;
        for (const auto& row : db::Exec(txn, sql::kWorkerHeartbeatList)) {
          WorkerStatus w;
          w.worker_id = row[0].as<std::string>();
          w.host = row[1].as<std::string>();
          w.pid = row[2].as<int>();
          w.lock_mode = row[3].as<std::string>();
          w.threads = row[4].as<int>();
          w.interval_ms = row[5].as<int64_t>();
          w.started_micros = row[6].as<int64_t>();
          w.last_seen_micros = row[7].as<int64_t>();
          w.stopped_micros = row[8].is_null() ? 0 : row[8].as<int64_t>();
          w.decided_last_minute = row[9].as<int64_t>();
          w.errors_last_minute = row[10].as<int64_t>();
          w.seen_ago_micros = row[11].as<int64_t>();
          if (w.stopped_micros != 0) {
            w.state = WorkerStatus::State::kStopped;
          } else if (w.seen_ago_micros > kGoneAfterIntervals * w.interval_ms * 1000) {
            w.state = WorkerStatus::State::kGone;
          } else {
            w.state = WorkerStatus::State::kAlive;
          }
          workers.push_back(std::move(w));
        }
        return workers;
      });
}

}  // namespace campaignq::store
