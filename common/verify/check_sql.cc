#include "common/verify/check_sql.h"

#include <cstdio>
#include <cstdlib>
#include <map>

#include "check_statements.h"

namespace campaignq::verify {

const std::string& CheckSql(campaignq::sql::Statement statement) {
  static const auto* by_name = new std::map<std::string, std::string>(
      campaignq::sql::NamedStatementsOf(sql::CheckQueryFiles()));
  auto it = by_name->find(statement.name);
  if (it == by_name->end()) {
    std::fprintf(stderr, "campaignq verify: no SQL statement named %s\n", statement.name);
    std::abort();
  }
  return it->second;
}

}  // namespace campaignq::verify
