#include "common/db/connect.h"

#include <exception>
#include <utility>

#include <pqxx/pqxx>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/db/pg_status.h"
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

}  // namespace

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
    for (const auto& [name, text] : sql::AllStatements()) connection->prepare(name, text);
    pqxx::nontransaction session(*connection);
    session.exec_prepared(sql::kSessionConfigure.name, options.application_name,
                          std::to_string(options.idle_in_transaction_timeout_ms));
    session.commit();
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
