#include "common/db/pool.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace campaignq::db {

PooledConnection::PooledConnection(ConnectionPool* pool, std::unique_ptr<Connection> connection)
    : pool_(pool), connection_(std::move(connection)) {}

PooledConnection::PooledConnection(PooledConnection&& other) noexcept
    : pool_(other.pool_), connection_(std::move(other.connection_)), discard_(other.discard_) {
  other.pool_ = nullptr;
}

PooledConnection::~PooledConnection() {
  if (pool_ != nullptr && connection_ != nullptr) {
    pool_->Release(std::move(connection_), discard_ || !connection_->is_open());
  }
}

ConnectionPool::ConnectionPool(PoolOptions options) : options_(std::move(options)) {}

absl::StatusOr<PooledConnection> ConnectionPool::Acquire() {
  return Acquire(absl::InfiniteFuture());
}

absl::StatusOr<PooledConnection> ConnectionPool::Acquire(absl::Time deadline) {
  const absl::Duration left = deadline - absl::Now();
  const bool deadline_first = left < absl::FromChrono(options_.acquire_timeout);
  std::unique_lock<std::mutex> lock(mutex_);
  const bool got_slot = released_.wait_for(
      lock,
      deadline_first ? absl::ToChronoNanoseconds(std::max(left, absl::ZeroDuration()))
                     : std::chrono::nanoseconds(options_.acquire_timeout),
      [this] { return !idle_.empty() || open_ < options_.max_connections; });
  if (!got_slot) {
    if (deadline_first) {
      return absl::DeadlineExceededError(
          "the call's deadline passed while waiting for a database connection");
    }
    return absl::UnavailableError(
        absl::StrCat("all ", options_.max_connections, " database connections are busy"));
  }
  if (!idle_.empty()) {
    auto connection = std::move(idle_.back());
    idle_.pop_back();
    return PooledConnection(this, std::move(connection));
  }
  ++open_;
  lock.unlock();  // connecting takes a round trip or a timeout; never under the lock
  auto connection = Connect(options_.url, options_.connect);
  if (!connection.ok()) {
    lock.lock();
    --open_;
    released_.notify_one();
    return connection.status();
  }
  return PooledConnection(this, *std::move(connection));
}

void ConnectionPool::Release(std::unique_ptr<Connection> connection, bool discard) {
  std::vector<std::unique_ptr<Connection>> suspects;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (discard) {
      --open_;
      // A broken connection usually means the server restarted or a
      // network path died: the idle ones are as suspect, and each would
      // otherwise fail one request before being replaced.
      open_ -= static_cast<int>(idle_.size());
      suspects.swap(idle_);
    } else {
      idle_.push_back(std::move(connection));
    }
  }
  released_.notify_all();
  // Closed outside the lock: closing may wait on the network.
  suspects.clear();
  connection.reset();
}

}  // namespace campaignq::db
