#pragma once
// Everything campaignq-server runs, as one object: schema preparation, the
// request and health connection pools, the store, the decision listener,
// the health monitor, the gRPC server (with grpc.health.v1 and reflection),
// the metrics endpoint, and the drain on Stop. The binary's main and the
// in-process tests build it the same way (port 0 picks a free port).

#include <grpcpp/grpcpp.h>

#include <memory>
#include <mutex>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "server/decision_listener.h"
#include "server/server_flags.h"

namespace campaignq::server {

class ServerStack {
 public:
  explicit ServerStack(ServerOptions options);
  ServerStack(const ServerStack&) = delete;
  ServerStack& operator=(const ServerStack&) = delete;
  ~ServerStack();  // Stop()s

  // Applies or verifies the schema (options.process.migrate), retrying while
  // the database is unreachable; then, unless options.migrate_only, starts
  // serving. Returns the gRPC port bound (0 with migrate_only: nothing is
  // served). Errors, everything started so far stopped again:
  //   CANCELLED            SIGTERM/SIGINT arrived while waiting for the
  //                        database (they must be blocked, see
  //                        common/shutdown.h; otherwise they kill the process)
  //   FAILED_PRECONDITION  the schema does not match, or the database cannot
  //                        be used; also when Start() was called before
  //   INVALID_ARGUMENT     a malformed --database-url or --metrics-listen;
  //                        bad security options or files (a tokens-file
  //                        line, a PEM file; security/*.h), or no
  //                        authentication on a non-loopback --listen
  //   UNAVAILABLE          cannot listen on --listen or --metrics-listen
  // Health reports SERVING once the database answers (checked before
  // Start returns).
  absl::StatusOr<int> Start();

  // The first half of Stop: health turns NOT_SERVING (load balancers go
  // elsewhere) and every watch ends with UNAVAILABLE (watch again
  // elsewhere); other calls are still served. Idempotent; nothing before
  // Start.
  void Drain();

  // Re-reads the tokens file and the JWT keys (on SIGHUP). On an error the
  // old ones stay in force and the error is returned; FAILED_PRECONDITION
  // when not running.
  absl::Status ReloadSecurity();

  // Drain(), then refuses new calls, lets in-flight calls finish for up to
  // options.shutdown_grace, cancels the rest, and stops health checks and
  // the metrics endpoint. Idempotent; fine without Start or after a failed
  // Start.
  void Stop();

  // After a successful Start (empty or null otherwise, and after Stop):
  // "host:port" with the port actually bound,
  const std::string& address() const { return address_; }
  // "host:port" of GET /metrics, empty without --metrics-listen,
  const std::string& metrics_address() const { return metrics_address_; }
  // "host:port" of the web console, empty without --console-listen,
  const std::string& console_address() const { return console_address_; }
  // the server, e.g. for InProcessChannel(),
  grpc::Server* grpc_server() const;
  // and its decision listener (e.g. to wait until it listens).
  const DecisionListener* listener() const;

 private:
  struct Running;

  absl::StatusOr<int> StartLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void DrainLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const ServerOptions options_;
  mutable std::mutex mutex_;
  bool started_ ABSL_GUARDED_BY(mutex_) = false;
  std::unique_ptr<Running> running_ ABSL_GUARDED_BY(mutex_);
  std::string address_;
  std::string metrics_address_;
  std::string console_address_;
};

}  // namespace campaignq::server
