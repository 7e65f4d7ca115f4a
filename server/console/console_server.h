#pragma once
// The web console of campaignq-server (docs/console.md): an HTTP server on
// its own port serving the embedded pages (console_assets.h), the JSON API
// (console_api.h) and live snapshots as Server-Sent Events at /api/events
// (console_live.h: one database reader per server, however many tabs).
//
// Usage (server/server_stack.cc):
//   ConsoleServer console({&store, &pool, &listener});
//   absl::StatusOr<int> port = console.Start("127.0.0.1:0");
//   ...
//   console.Stop();

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "common/db/pool.h"
#include "common/store/campaign_store.h"
#include "server/console/console_api.h"
#include "server/console/console_auth.h"
#include "server/console/console_live.h"
#include "server/decision_listener.h"

namespace httplib {
class Server;
}

namespace campaignq::server::console {

struct ConsoleServerOptions {
  store::CampaignStore* store = nullptr;       // the gRPC service's store
  db::ConnectionPool* pool = nullptr;          // where worker heartbeats are read
  const DecisionListener* listener = nullptr;  // may be null: idle refresh only
  // Empty: no authentication, loopback only, everyone admin (console_auth.h).
  Authorizer authorizer;
  ConsoleLiveOptions live;
  // Open event streams at most; more get 503 (each holds an HTTP thread).
  int max_streams = 32;
  // The API's deadline and list-page rate (console_api.h).
  ConsoleApiOptions api;
};

class ConsoleServer {
 public:
  explicit ConsoleServer(ConsoleServerOptions options);  // pointers must outlive this
  ConsoleServer(const ConsoleServer&) = delete;
  ConsoleServer& operator=(const ConsoleServer&) = delete;
  ~ConsoleServer();  // Stop()s

  // Listens on "host:port" (port 0: a free one) and serves in the
  // background. Returns the bound port. INVALID_ARGUMENT for a malformed
  // address, FAILED_PRECONDITION for a non-loopback one without an
  // authorizer, UNAVAILABLE when it cannot bind; also FAILED_PRECONDITION
  // when started before.
  absl::StatusOr<int> Start(const std::string& listen);
  // Ends every event stream, then the server. Idempotent.
  void Stop();

  ConsoleLive& live() { return *live_; }

 private:
  void Route();

  const ConsoleServerOptions options_;
  std::unique_ptr<ConsoleLive> live_;
  std::unique_ptr<ConsoleApi> api_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  std::atomic<int> streams_{0};
  bool started_ = false;
};

}  // namespace campaignq::server::console
