#pragma once
// A TCP proxy between campaignq processes and PostgreSQL that injects network
// faults on command, for the fault tier.
//
// Every connection accepted on 127.0.0.1:port() is forwarded to the
// upstream server. The proxy follows the frontend protocol of each
// connection (startup packet, SSLRequest/GSSENCRequest answers, then typed
// messages) so that it can recognise COMMIT and cut the connection right
// after forwarding it: the server commits, the client never hears of it
// (libpqxx 6.4 throws pqxx::in_doubt_error). A connection whose client
// negotiated TLS or GSS encryption is forwarded opaquely (no COMMIT
// detection); campaignq's test clusters run without TLS.
//
// "Cut" always means both sockets of the pair are closed with SO_LINGER 0,
// i.e. both peers get a TCP RST, as after a crashed middlebox.
//
// Every control is thread-safe and takes effect before it returns: once it
// has returned, no connection forwards another byte under the old setting.

#include <sys/socket.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace campaignq::testing {

class FaultProxy {
 public:
  struct Counters {
    int64_t accepted = 0;      // connections accepted (refused ones included)
    int64_t refused = 0;       // closed at once because of RefuseNew(true)
    int64_t open = 0;          // pairs currently forwarding (or stalled)
    int64_t cut = 0;           // pairs cut by CutAll()
    int64_t commits_seen = 0;  // COMMITs forwarded, on every connection
    int64_t commits_cut = 0;   // pairs cut after a COMMIT by CutAfterCommit()
  };

  struct HostPort {
    std::string host;
    int port = 0;
  };
  // The TCP server `url` (a postgresql:// URI or key=value conninfo)
  // connects to, with libpq's defaults (localhost, 5432): what a proxy in
  // front of that database forwards to. INVALID_ARGUMENT if libpq cannot
  // parse it or it names several hosts or a Unix-socket directory.
  static absl::StatusOr<HostPort> ServerOf(const std::string& url);

  // Forwards to upstream_host:upstream_port (a name or an address; TCP only).
  FaultProxy(std::string upstream_host, int upstream_port);
  ~FaultProxy();  // Stop()
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  // Listens on 127.0.0.1 on a free port and returns it. FAILED_PRECONDITION
  // if already started (or stopped: a proxy runs once), INVALID_ARGUMENT if
  // the upstream host does not resolve, INTERNAL on a socket error.
  absl::StatusOr<int> Start();
  // Stops listening and cuts every connection. Idempotent.
  void Stop();
  // The listening port (0 before Start()).
  int port() const;

  // `url` (a postgresql:// URI or key=value conninfo) reaching the same
  // database through this proxy: a key=value conninfo with host and port
  // replaced (hostaddr dropped). INVALID_ARGUMENT if libpq cannot parse it.
  absl::StatusOr<std::string> Through(const std::string& url) const;

  // --- faults ---------------------------------------------------------------
  // Cuts every open connection pair now; later connections are forwarded.
  void CutAll();
  // While on, no connection forwards anything in either direction (bytes
  // stay unread, so the kernel acknowledges them and neither keepalives nor
  // tcp_user_timeout fire): peers see a stalled connection, new ones stall in
  // their startup. Off again: stalled connections resume where they were.
  void BlackholeAll(bool on);
  // While on, new connections are accepted and closed at once (RST).
  void RefuseNew(bool on);
  // The next `n` COMMITs (replacing any earlier budget) on connections whose
  // startup packet's application_name starts with `application_name_prefix`
  // ("" = every connection) are forwarded, the server's answer is awaited
  // (at most 10 s) and dropped, and then the pair is cut: the transaction is
  // committed and visible before the client sees its connection die, and the
  // client never learns the outcome. Recognised: a simple Query whose text
  // starts with COMMIT (any case, after whitespace; libpqxx's form), and an
  // extended-protocol Execute of a portal bound to a statement parsed from
  // such text (cut after the following Sync or Flush).
  void CutAfterCommit(int n, std::string application_name_prefix = "");

  // --- observation ----------------------------------------------------------
  Counters counters() const;
  // Waits until condition(counters()) holds (-> true) or `timeout` passes
  // (-> false). Woken by every counter change; never polls.
  bool WaitFor(const std::function<bool(const Counters&)>& condition,
               std::chrono::steady_clock::duration timeout) const;

 private:
  struct Connection;
  friend struct Connection;

  void AcceptLoop();
  void Serve(Connection* connection);
  // Applies `change` to the shared settings, then waits until every
  // connection has seen the new settings (or ended).
  void Control(const std::function<void()>& change);
  // Joins and frees connections whose thread has ended.
  void Reap();

  const std::string upstream_host_;
  const int upstream_port_;
  sockaddr_storage upstream_address_{};
  socklen_t upstream_address_length_ = 0;

  mutable std::mutex mu_;
  mutable std::condition_variable changed_;  // settings acknowledged, counters, ends
  bool started_ = false;
  bool stopping_ = false;
  int port_ = 0;
  int listen_fd_ = -1;
  int listener_wake_[2] = {-1, -1};  // pipe: a byte wakes the accept loop
  std::thread listener_;
  std::list<std::unique_ptr<Connection>> connections_;
  // Settings; each change bumps version_.
  uint64_t version_ = 0;
  bool blackhole_ = false;
  bool refuse_ = false;
  int commit_cut_budget_ = 0;
  std::string commit_cut_prefix_;
  Counters counters_;
};

}  // namespace campaignq::testing
