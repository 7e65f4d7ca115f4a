#include "client/apply_file.h"

#include <fstream>
#include <iostream>
#include <sstream>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/format.h"
#include "client/rpc.h"

namespace campaignq::client {
namespace {

// ApplyBatch's bound (server/apply_batch.h: kMaxApplyBatch).
constexpr int kMaxBatch = 1000;
// The server's default --max-receive-message-bytes (docs/limits.md), less
// 8 KiB for the call's framing: a larger batch is refused whole.
constexpr size_t kMaxBatchBytes = 256 * 1024 - 8 * 1024;

}  // namespace

absl::StatusOr<std::vector<FileApply>> ParseApplyFile(const std::string& text, int64_t campaign) {
  std::vector<FileApply> applies;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    FileApply apply;
    apply.line = number;
    if (campaign > 0) {
      apply.campaign_id = campaign;
      apply.user_id = std::string(line);
    } else {
      const size_t comma = line.find(',');
      if (comma == absl::string_view::npos ||
          !absl::SimpleAtoi(line.substr(0, comma), &apply.campaign_id)) {
        return absl::InvalidArgumentError(
            absl::StrCat("line ", number,
                         ": want campaign_id,user_id (or pass --campaign=ID and one user id "
                         "per line)"));
      }
      apply.user_id = std::string(line.substr(comma + 1));
    }
    applies.push_back(std::move(apply));
  }
  return applies;
}

std::vector<BatchRange> SplitIntoBatches(const std::vector<FileApply>& applies, int max_count,
                                         size_t max_bytes) {
  std::vector<BatchRange> batches;
  size_t first = 0, bytes = 0;
  for (size_t i = 0; i < applies.size(); ++i) {
    v1::ApplyRequest item;
    item.set_campaign_id(applies[i].campaign_id);
    item.set_user_id(applies[i].user_id);
    // The item's size inside the repeated field: tag, length, body.
    const size_t size = item.ByteSizeLong() + 1 + 3;
    if (i > first && (static_cast<int>(i - first) >= max_count || bytes + size > max_bytes)) {
      batches.push_back({first, i});
      first = i;
      bytes = 0;
    }
    bytes += size;
  }
  if (first < applies.size()) batches.push_back({first, applies.size()});
  return batches;
}

int RunApplyFile(Stub& stub, const CliOptions& o) {
  std::ifstream in(o.file, std::ios::binary);
  if (!in) return ReportUsageError(absl::StrCat("--file=", o.file, ": cannot read it"), o.json);
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<std::vector<FileApply>> applies = ParseApplyFile(text.str(), o.campaign);
  if (!applies.ok()) {
    return ReportUsageError(absl::StrCat("--file=", o.file, ": ", applies.status().message()),
                            o.json);
  }
  if (applies->empty())
    return ReportUsageError(absl::StrCat("--file=", o.file, ": no lines"), o.json);
  bool all_stored = true;
  for (const BatchRange& range : SplitIntoBatches(*applies, kMaxBatch, kMaxBatchBytes)) {
    v1::ApplyBatchRequest request;
    for (size_t i = range.first; i < range.last; ++i) {
      v1::ApplyRequest* item = request.add_requests();
      item->set_campaign_id((*applies)[i].campaign_id);
      item->set_user_id((*applies)[i].user_id);
    }
    grpc::ClientContext context;
    SetTimeout(&context, o.rpc_timeout);
    v1::ApplyBatchResponse response;
    const grpc::Status status = stub.ApplyBatch(&context, request, &response);
    if (!status.ok()) {
      std::cerr << "lines " << (*applies)[range.first].line << " to "
                << (*applies)[range.last - 1].line << " were not sent"
                << (range.first > 0 ? "; the lines before them were" : "") << std::endl;
      return ReportRpcError(status, o.json);
    }
    for (int i = 0; i < response.results_size(); ++i) {
      const FileApply& apply = (*applies)[range.first + i];
      const v1::ApplyBatchResult& result = response.results(i);
      const grpc::Status error =
          result.has_error()
              ? grpc::Status(static_cast<grpc::StatusCode>(result.error().code()),
                             result.error().message(), result.error().SerializeAsString())
              : grpc::Status::OK;
      if (!error.ok() && error.error_code() != grpc::StatusCode::ALREADY_EXISTS) all_stored = false;
      if (o.json) {
        std::cout << "{\"line\":" << apply.line << ","
                  << (error.ok() ? absl::StrCat("\"application\":", ToJson(result.application()))
                                 : absl::StrCat("\"error\":", RpcErrorJson(error)))
                  << "}\n";
      } else {
        std::cout << "line " << apply.line << ": "
                  << (error.ok() ? ApplicationText(result.application()) : RpcErrorText(error))
                  << "\n";
      }
    }
  }
  return all_stored ? kExitOk : kExitFailure;
}

}  // namespace campaignq::client
