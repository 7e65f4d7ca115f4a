#pragma once
// Schema preparation at process start, shared by server and worker.

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "common/db/connect.h"
#include "common/db/migrator.h"

namespace campaignq::db {

// Connects and runs Migrate(mode), waiting out an unreachable or
// restarting database with capped backoff (each failure logged). Returns
// OK, FAILED_PRECONDITION for a schema mismatch (fatal: do not start),
// or CANCELLED once should_stop() turns true.
absl::Status PrepareSchema(const std::string& url, const ConnectOptions& options,
                           MigrateMode mode, const std::function<bool()>& should_stop);

}  // namespace campaignq::db
