#pragma once
// Which named statement serves a ListApplications page, and its
// arguments: the decision apart from the database, so that
// list_plans_db_test EXPLAINs exactly what the store runs. Each statement's
// index is fixed by its text (sql/queries/applications.sql, "List plans").

#include <cstdint>
#include <string>
#include <vector>

#include "common/sql/statement.h"

namespace campaignq::store {

struct ApplicationListPlan {
  sql::Statement statement;
  // $1, $2, ... in text form (the database parses them as the statement's
  // parameter types).
  std::vector<std::string> args;
};

// `status_word`: "" for every status, else the database word ("pending",
// ...). `user_id`: "" for every user. `after_id`: the last id of the
// previous page (0: first page). `limit`: rows to read (a page and one
// more, to tell whether another follows).
ApplicationListPlan PlanApplicationList(int64_t campaign_id, const std::string& status_word,
                                        const std::string& user_id, int64_t after_id, int limit);

}  // namespace campaignq::store
