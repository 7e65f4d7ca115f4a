#pragma once
// Opening PostgreSQL sessions the way every campaignq process needs them.

#include <memory>
#include <string>

#include <pqxx/connection>

#include "absl/status/statusor.h"

namespace campaignq::db {

struct ConnectOptions {
  // Shown in pg_stat_activity.
  std::string application_name = "campaignq";
  // A session that sits in an open transaction this long is ended by the
  // server, releasing its locks: a frozen worker cannot hold a campaign.
  int idle_in_transaction_timeout_ms = 10000;
};

// The URL with libpq TCP keepalives and tcp_user_timeout added (unless the
// URL sets them), so that a vanished peer is noticed in seconds rather than
// after the kernel's two hours. Accepts URI and key=value forms.
std::string WithConnectionLiveness(const std::string& url);

// Connects, applies session settings and registers every named statement
// for lazy preparation. UNAVAILABLE when the server cannot be reached;
// INVALID_ARGUMENT for a malformed URL.
absl::StatusOr<std::unique_ptr<pqxx::connection>> Connect(const std::string& url,
                                                          const ConnectOptions& options);

}  // namespace campaignq::db
