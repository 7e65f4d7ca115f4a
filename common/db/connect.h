#pragma once
// Opening PostgreSQL sessions the way every campaignq process needs them.

#include <map>
#include <memory>
#include <pqxx/connection>
#include <string>

#include "absl/status/statusor.h"

namespace campaignq::db {

struct ConnectOptions {
  // Shown in pg_stat_activity (unless the URL sets application_name).
  std::string application_name = "campaignq";
  // A session that sits in an open transaction this long is ended by the
  // server, releasing its locks: a frozen worker cannot hold a campaign.
  int idle_in_transaction_timeout_ms = 10000;
  // For PgBouncer in transaction pooling: no prepared statements (a server
  // connection may change between transactions) and no session settings
  // (the startup packet's options are PgBouncer's to set; see docs/deploy.md).
  bool pooler_safe = false;
};

// A libpqxx connection that remembers how campaignq runs statements on it.
class Connection : public pqxx::connection {
 public:
  Connection(const std::string& conninfo, bool pooler_safe)
      : pqxx::connection(conninfo), pooler_safe_(pooler_safe) {}
  bool pooler_safe() const { return pooler_safe_; }

 private:
  const bool pooler_safe_;
};

// The libpq connection string campaignq connects with: `url` (URI or
// key=value form, multi-host URLs included) parsed by libpq itself, plus,
// where the URL does not set them, TCP keepalives, tcp_user_timeout and
// connect_timeout (a vanished peer is noticed in seconds, not after the
// kernel's two hours) and application_name. Unless pooler_safe, the session
// settings go into the startup packet's `options` (-c name=value), so that
// they survive libpqxx's silent reconnect (PQreset), which a SET would not.
// INVALID_ARGUMENT for a URL libpq cannot parse (the message never echoes
// the URL: it may hold a password).
absl::StatusOr<std::string> ConnectionString(const std::string& url, const ConnectOptions& options);

// The settings a URL (URI or key=value form) spells out, parsed by libpq
// itself. INVALID_ARGUMENT for a URL libpq cannot parse; the message names
// the bad part, never the URL (it may hold a password).
absl::StatusOr<std::map<std::string, std::string>> ParseConnectionUrl(const std::string& url);

// `settings` as a key='value' libpq connection string.
std::string ConninfoOf(const std::map<std::string, std::string>& settings);

// Connects and registers every named statement for lazy preparation (not
// in pooler-safe mode). UNAVAILABLE when the server cannot be reached;
// INVALID_ARGUMENT for a malformed URL.
absl::StatusOr<std::unique_ptr<Connection>> Connect(const std::string& url,
                                                    const ConnectOptions& options);

}  // namespace campaignq::db
