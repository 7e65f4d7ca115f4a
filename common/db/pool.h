#pragma once
// A bounded pool of PostgreSQL connections shared by request threads.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <pqxx/connection>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/db/connect.h"

namespace campaignq::db {

class ConnectionPool;

// Exclusive use of one pooled connection; returns it on destruction. Call
// Discard() after a connection-level failure: it is closed, and so are the
// idle ones (likely broken by the same cause); fresh ones replace them.
class PooledConnection {
 public:
  PooledConnection(ConnectionPool* pool, std::unique_ptr<Connection> connection);
  PooledConnection(PooledConnection&& other) noexcept;
  PooledConnection& operator=(PooledConnection&&) = delete;
  PooledConnection(const PooledConnection&) = delete;
  ~PooledConnection();

  Connection& operator*() { return *connection_; }
  Connection* operator->() { return connection_.get(); }
  void Discard() { discard_ = true; }

 private:
  ConnectionPool* pool_;
  std::unique_ptr<Connection> connection_;
  bool discard_ = false;
};

struct PoolOptions {
  std::string url;
  ConnectOptions connect;
  int max_connections = 8;
  // How long Acquire waits for a free connection before giving up.
  std::chrono::milliseconds acquire_timeout{5000};
};

class ConnectionPool {
 public:
  explicit ConnectionPool(PoolOptions options);
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // An idle connection, or a new one while fewer than max_connections exist.
  // UNAVAILABLE when the database cannot be reached or no connection frees
  // up within acquire_timeout.
  absl::StatusOr<PooledConnection> Acquire();
  // The same, but waits for a free connection at most until `deadline`
  // (a caller's): DEADLINE_EXCEEDED when that comes before acquire_timeout.
  absl::StatusOr<PooledConnection> Acquire(absl::Time deadline);

  const PoolOptions& options() const { return options_; }

 private:
  friend class PooledConnection;
  void Release(std::unique_ptr<Connection> connection, bool discard);

  const PoolOptions options_;
  std::mutex mutex_;
  std::condition_variable released_;
  std::vector<std::unique_ptr<Connection>> idle_ ABSL_GUARDED_BY(mutex_);
  int open_ ABSL_GUARDED_BY(mutex_) = 0;  // idle + lent out + being opened
};

}  // namespace campaignq::db
