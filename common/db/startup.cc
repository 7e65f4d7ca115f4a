#include "common/db/startup.h"

#include <chrono>

#include "absl/random/random.h"
#include "common/backoff.h"
#include "common/db/pg_status.h"
#include "common/log.h"
#include "common/shutdown.h"

namespace campaignq::db {
namespace {

constexpr BackoffPolicy kRetryBackoff{std::chrono::milliseconds(250),
                                      std::chrono::milliseconds(10000)};

}  // namespace

absl::Status PrepareSchema(const std::string& url, const ConnectOptions& options, MigrateMode mode,
                           WhileRunning while_running) {
  absl::BitGen random;
  for (int attempt = 0;; ++attempt) {
    auto connection = Connect(url, options);
    absl::Status status =
        connection.ok() ? Migrate(**connection, mode, while_running) : connection.status();
    // UNKNOWN (the connection was lost during the migration's COMMIT) is
    // retried too: migrating is idempotent under its advisory lock, so the
    // next attempt finds the migrations applied or applies them.
    if (status.ok() || !(IsTransient(status) || status.code() == absl::StatusCode::kUnknown)) {
      return status;
    }
    const std::chrono::milliseconds delay = JitteredDelay(kRetryBackoff, attempt, random);
    LogWarning("startup", "database not ready (attempt ", attempt + 1, "), retrying in ",
               delay.count(), " ms: ", status.message());
    if (SleepUnlessTerminated(delay)) {
      return absl::CancelledError("stopped before the database was ready");
    }
  }
}

}  // namespace campaignq::db
