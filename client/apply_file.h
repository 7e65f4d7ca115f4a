#pragma once
// `campaignq apply --file=F`: many Applies from a file, sent as ApplyBatch
// calls (docs/cli.md). The file's rules and the split into calls are here,
// apart from the I/O, so that they are unit-tested.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "campaignq/v1/campaignq.pb.h"
#include "client/commands.h"

namespace campaignq::client {

// One Apply of the file: its 1-based line, for the report.
struct FileApply {
  int line = 0;
  int64_t campaign_id = 0;
  std::string user_id;
};

// The file's text to Applies. With `campaign` > 0 every non-empty line is a
// user id (as is: commas included); without, every non-empty line is
// `campaign_id,user_id`, split at the first comma. A trailing "\r" is
// dropped, empty lines are skipped. INVALID_ARGUMENT naming the line for a
// line that is not so; the server checks the ids themselves.
absl::StatusOr<std::vector<FileApply>> ParseApplyFile(const std::string& text, int64_t campaign);

// Consecutive [first, last) ranges of `applies`, each one ApplyBatch of at
// most `max_count` Applies whose encoded requests take at most `max_bytes`
// (the server's request size limit, less room for framing), in file order.
struct BatchRange {
  size_t first;
  size_t last;
};
std::vector<BatchRange> SplitIntoBatches(const std::vector<FileApply>& applies, int max_count,
                                         size_t max_bytes);

// Sends `applies` (ApplyBatch per SplitIntoBatches), printing each line's
// outcome in file order; stops at the first call that fails as a whole.
// kExitOk when every line was stored or had been (ALREADY_EXISTS), else
// kExitFailure, or the exit code of the call that failed.
int RunApplyFile(Stub& stub, const CliOptions& options);

}  // namespace campaignq::client
