#include "common/db/connect.h"

#include <libpq-fe.h>

#include <exception>
#include <map>
#include <pqxx/pqxx>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/db/pg_status.h"
#include "common/db/redact.h"
#include "common/sql/statement.h"

namespace campaignq::db {
namespace {

constexpr std::pair<const char*, const char*> kLivenessDefaults[] = {
    {"keepalives", "1"},       {"keepalives_idle", "5"},      {"keepalives_interval", "2"},
    {"keepalives_count", "3"}, {"tcp_user_timeout", "10000"}, {"connect_timeout", "5"},
};

}  // namespace

absl::StatusOr<std::map<std::string, std::string>> ParseConnectionUrl(const std::string& url) {
  char* error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(url.c_str(), &error);
  if (parsed == nullptr) {
    std::string why = error != nullptr ? error : "out of memory";
    PQfreemem(error);
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    // libpq echoes the offending token, or the whole URI: never the URL.
    return absl::InvalidArgumentError(
        absl::StrCat("bad database URL: ", RedactedParseError(why, url)));
  }
  std::map<std::string, std::string> settings;
  for (PQconninfoOption* option = parsed; option->keyword != nullptr; ++option) {
    if (option->val != nullptr) settings[option->keyword] = option->val;
  }
  PQconninfoFree(parsed);
  return settings;
}

std::string ConninfoOf(const std::map<std::string, std::string>& settings) {
  std::string conninfo;
  for (const auto& [key, value] : settings) {
    // key='value', with ' and \ escaped by a backslash.
    std::string quoted = "'";
    for (char c : value) {
      if (c == '\'' || c == '\\') quoted += '\\';
      quoted += c;
    }
    absl::StrAppend(&conninfo, conninfo.empty() ? "" : " ", key, "=", quoted, "'");
  }
  return conninfo;
}

absl::StatusOr<std::string> ConnectionString(const std::string& url,
                                             const ConnectOptions& options) {
  absl::StatusOr<std::map<std::string, std::string>> parsed = ParseConnectionUrl(url);
  if (!parsed.ok()) return parsed.status();
  std::map<std::string, std::string>& settings = *parsed;
  for (const auto& [key, value] : kLivenessDefaults) settings.emplace(key, value);
  settings.emplace("application_name", options.application_name);
  if (!options.pooler_safe) {
    std::string& startup = settings["options"];
    absl::StrAppend(&startup, startup.empty() ? "" : " ", "-c idle_in_transaction_session_timeout=",
                    options.idle_in_transaction_timeout_ms);
  }
  return ConninfoOf(settings);
}

absl::StatusOr<std::unique_ptr<Connection>> Connect(const std::string& url,
                                                    const ConnectOptions& options) {
  absl::StatusOr<std::string> conninfo = ConnectionString(url, options);
  if (!conninfo.ok()) return conninfo.status();
  try {
    auto connection = std::make_unique<Connection>(*conninfo, options.pooler_safe);
    // Through a transaction pooler prepared statements vanish with the
    // server connection they were made on: Exec sends the text instead.
    if (!options.pooler_safe) {
      for (const auto& [name, text] : sql::AllStatements()) connection->prepare(name, text);
    }
    return connection;
  } catch (const pqxx::broken_connection& error) {
    return absl::UnavailableError(
        absl::StrCat("cannot connect to PostgreSQL: ", WithoutSecrets(error.what(), url)));
  } catch (const std::exception& error) {
    const absl::Status status = StatusFromException(error);
    return absl::Status(status.code(), WithoutSecrets(status.message(), url));
  }
}

}  // namespace campaignq::db
