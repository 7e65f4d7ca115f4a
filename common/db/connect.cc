#include "common/db/connect.h"

#include <atomic>
#include <exception>
#include <utility>

#include <pqxx/pqxx>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/db/pg_status.h"
#include "common/db/transaction.h"
#include "common/sql/statement.h"
#include "statements.h"

namespace campaignq::db {
namespace {

constexpr std::pair<const char*, const char*> kLivenessSettings[] = {
    {"keepalives", "1"},
    {"keepalives_idle", "5"},
    {"keepalives_interval", "2"},
    {"keepalives_count", "3"},
    {"tcp_user_timeout", "10000"},
    {"connect_timeout", "5"},
};

bool IsUri(const std::string& url) {
  return absl::StartsWith(url, "postgresql://") || absl::StartsWith(url, "postgres://");
}

std::atomic<bool> pooler_safe_mode{false};

}  // namespace

void SetPoolerSafeMode(bool enabled) { pooler_safe_mode.store(enabled); }

bool PoolerSafeMode() { return pooler_safe_mode.load(std::memory_order_relaxed); }

std::string WithConnectionLiveness(const std::string& url) {
  std::string result = url;
  const bool uri = IsUri(url);
  for (const auto& [key, value] : kLivenessSettings) {
    if (absl::StrContains(url, absl::StrCat(key, "="))) continue;
    if (uri) {
      absl::StrAppend(&result, absl::StrContains(result, "?") ? "&" : "?", key, "=", value);
    } else {
      absl::StrAppend(&result, result.empty() ? "" : " ", key, "=", value);
    }
  }
  return result;
}

absl::StatusOr<std::unique_ptr<pqxx::connection>> Connect(const std::string& url,
                                                          const ConnectOptions& options) {
  try {
    auto connection = std::make_unique<pqxx::connection>(WithConnectionLiveness(url));
    // Through a transaction pooler, session settings would land on whichever
    // server connection this one borrows, and prepared statements vanish
    // with it: set both on the pooler's side instead (see README, Deploy).
    if (!PoolerSafeMode()) {
      for (const auto& [name, text] : sql::AllStatements()) connection->prepare(name, text);
      pqxx::nontransaction session(*connection);
      Exec(session, sql::kSessionConfigure, options.application_name,
           std::to_string(options.idle_in_transaction_timeout_ms));
      session.commit();
    }
    return connection;
  } catch (const pqxx::broken_connection& error) {
    return absl::UnavailableError(absl::StrCat("cannot connect to PostgreSQL: ", error.what()));
  } catch (const std::exception& error) {
    absl::Status status = StatusFromException(error);
    if (status.code() == absl::StatusCode::kInternal) {
      return absl::InvalidArgumentError(absl::StrCat("bad database URL: ", error.what()));
    }
    return status;
  }
}

}  // namespace campaignq::db
