#include "common/db/startup.h"

#include <algorithm>
#include <chrono>

#include "common/db/pg_status.h"
#include "common/log.h"
#include "common/shutdown.h"

namespace campaignq::db {

absl::Status PrepareSchema(const std::string& url, const ConnectOptions& options,
                           MigrateMode mode) {
  std::chrono::milliseconds delay{250};
  constexpr std::chrono::milliseconds kMaxDelay{10000};
  for (int attempt = 1;; ++attempt) {
    auto connection = Connect(url, options);
    absl::Status status = connection.ok() ? Migrate(**connection, mode) : connection.status();
    if (status.ok() || !IsTransient(status)) return status;
    LogWarning("startup", "database not ready (attempt ", attempt, "), retrying in ",
               delay.count(), " ms: ", status.message());
    if (SleepUnlessTerminated(delay)) {
      return absl::CancelledError("stopped before the database was ready");
    }
    delay = std::min(delay * 2, kMaxDelay);
  }
}

}  // namespace campaignq::db
