#include "common/db/startup.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "common/db/pg_status.h"
#include "common/log.h"

namespace campaignq::db {

absl::Status PrepareSchema(const std::string& url, const ConnectOptions& options,
                           MigrateMode mode, const std::function<bool()>& should_stop) {
  std::chrono::milliseconds delay{100};
  constexpr std::chrono::milliseconds kMaxDelay{5000};
  constexpr std::chrono::milliseconds kSlice{100};
  while (!should_stop()) {
    auto connection = Connect(url, options);
    absl::Status status = connection.ok() ? Migrate(**connection, mode) : connection.status();
    if (status.ok() || !IsTransient(status)) return status;
    LogWarning("startup", "database not ready (retrying in ", delay.count(), " ms): ",
               status.message());
    for (auto waited = std::chrono::milliseconds(0); waited < delay && !should_stop();
         waited += kSlice) {
      std::this_thread::sleep_for(kSlice);
    }
    delay = std::min(delay * 2, kMaxDelay);
  }
  return absl::CancelledError("stopped before the database was ready");
}

}  // namespace campaignq::db
