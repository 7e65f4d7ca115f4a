#pragma once
// Schema preparation at process start, shared by server and worker.

#include <string>

#include "absl/status/status.h"
#include "common/db/connect.h"
#include "common/db/migrator.h"

namespace campaignq::db {

// Connects and runs Migrate(mode, while_running). While the database is unreachable or
// restarting (an orchestrator often starts us before PostgreSQL), and when
// the connection is lost during the migration's COMMIT, it logs and retries
// with capped, jittered backoff. Returns OK; FAILED_PRECONDITION for a
// schema mismatch (fatal: do not start); INVALID_ARGUMENT for a malformed
// URL; CANCELLED when SIGTERM/SIGINT arrived while waiting (the signals
// must be blocked: BlockTerminationSignals()).
absl::Status PrepareSchema(const std::string& url, const ConnectOptions& options, MigrateMode mode,
                           WhileRunning while_running = WhileRunning::kRefuse);

}  // namespace campaignq::db
