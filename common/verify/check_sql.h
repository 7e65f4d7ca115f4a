#pragma once
// The kit's named statements (sql/checks/*.sql, embedded): the text of one,
// by the constant generated for it (check_statements.h). Aborts on a name
// that is not there: a build that embedded the wrong files.

#include <string>

#include "common/sql/statement.h"

namespace campaignq::verify {

const std::string& CheckSql(campaignq::sql::Statement statement);

}  // namespace campaignq::verify
