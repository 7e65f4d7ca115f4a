#include "client/storm.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "campaignq/v1/campaignq.grpc.pb.h"
#include "client/rpc.h"
#include "client/storm_report.h"
#include "client/table.h"
#include "common/json_text.h"
#include "common/verify/checks.h"
#include "common/verify/sampler.h"
#include "common/verify/storm.h"
#include "google/protobuf/util/time_util.h"

namespace campaignq::client {
namespace {

using Stub = v1::CampaignQueue::Stub;

// How long one applicant keeps retrying transient failures.
constexpr auto kApplyRetryWindow = std::chrono::seconds(60);
constexpr absl::Duration kProgressInterval = absl::Milliseconds(200);
constexpr int kMaxChannels = 8;
// docs/holds.md: workers end a hold within 1 s of its expiry while they run.
constexpr auto kHoldLateness = std::chrono::milliseconds(1000);
constexpr auto kNoLateness = std::chrono::milliseconds(0);

// The hold flags, apart from the cap's: what the server cannot check for
// the storm (the shares are the storm's own). The server checks the bounds
// of the duration (1s to 24h).
std::optional<std::string> HoldFlagsError(const CliOptions& o) {
  if (o.hold_duration < absl::ZeroDuration()) {
    return "--hold-duration must be >= 0 (0 = approvals are final)";
  }
  if (o.max_active_holds < 0) return "--max-active-holds must be >= 0 (0 = as many as seats)";
  const bool holds = o.hold_duration > absl::ZeroDuration();
  if (holds && o.cap == 0) return "--hold-duration needs --cap: a hold protects a seat";
  if (!holds && o.max_active_holds > 0) return "--max-active-holds needs --hold-duration";
  if (!(o.confirm_share >= 0 && o.confirm_share <= 1) ||
      !(o.release_share >= 0 && o.release_share <= 1)) {
    return "--confirm-share and --release-share must be between 0 and 1";
  }
  if (o.confirm_share + o.release_share > 1) {
    return absl::StrCat("--confirm-share + --release-share must be <= 1 (the rest expire); got ",
                        o.confirm_share + o.release_share);
  }
  return std::nullopt;
}

// Prints "\r"-updated progress to stderr until `done`. On a terminal every
// interval; otherwise (logs) a full line every 5 seconds.
void PrintProgress(const verify::StormCounters* counters, const std::atomic<int64_t>* pending,
                   int64_t total, absl::Notification* done) {
  const bool tty = isatty(STDERR_FILENO);
  const absl::Duration every = tty ? kProgressInterval : absl::Seconds(5);
  auto line = [&] {
    const int64_t left = pending->load();
    const int64_t acked = counters->acknowledged.load();
    const std::string decided = left < 0 ? "?" : absl::StrCat(std::max<int64_t>(0, acked - left));
    const std::string holds =
        counters->held.load() == 0
            ? ""
            : absl::StrCat(" held ", counters->held.load(), " confirmed ",
                           counters->confirmed.load(), " released ", counters->released.load());
    return absl::StrCat("storm: sent ", counters->sent.load(), "/", total, " acked ", acked,
                        " failed ", counters->unacknowledged.load(), " decided ", decided, holds,
                        "    ");
  };
  while (!done->WaitForNotificationWithTimeout(every)) {
    std::cerr << (tty ? "\r" : "") << line() << (tty ? "" : "\n") << std::flush;
  }
  std::cerr << (tty ? "\r" : "") << line() << "\n" << std::flush;
}

int ReportDatabaseError(const absl::Status& status, bool json) {
  const std::string message =
      absl::StrCat(status.message(), " (storm verifies against the database: --database-url)");
  return ReportFailure(absl::StatusCodeToString(status.code()), message, kExitFailure, json,
                       absl::StrCat("storm: error: ", message));
}

}  // namespace

int RunStorm(const CliOptions& o) {
  if (o.campaigns < 1) return ReportUsageError("storm needs --campaigns >= 1", o.json);
  if (o.applicants < 1) return ReportUsageError("storm needs --applicants >= 1", o.json);
  if (o.cap < 0) return ReportUsageError("--cap must be >= 0 (0 = unlimited)", o.json);
  if (o.concurrency < 1) return ReportUsageError("--concurrency must be >= 1", o.json);
  if (o.applicants > std::numeric_limits<int32_t>::max()) {
    return ReportUsageError("--applicants is too large", o.json);
  }
  if (const auto error = HoldFlagsError(o)) return ReportUsageError(*error, o.json);
  const bool holds = o.hold_duration > absl::ZeroDuration();

  const auto start = std::chrono::steady_clock::now();
  const int channel_count = std::min<int>(kMaxChannels, 1 + o.concurrency / 16);
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < channel_count; ++i) {
    absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = MakeChannel(o.server, o.connect, i);
    if (!channel.ok()) return ReportUsageError(channel.status().message(), o.json);
    channels.push_back(*std::move(channel));
  }
  auto stub = v1::CampaignQueue::NewStub(channels[0]);

  // 1. Fresh campaigns, so nothing but this storm touches them.
  const std::string tag = absl::StrCat("storm-", absl::ToUnixMillis(absl::Now()));
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < o.campaigns; ++i) {
    v1::CreateCampaignRequest request;
    request.set_name(absl::StrCat(tag, "-", i));
    if (o.cap > 0) request.set_max_participants(o.cap);
    request.set_waitlist(o.waitlist.value_or(true));
    if (holds) {
      *request.mutable_hold_duration() = google::protobuf::util::TimeUtil::NanosecondsToDuration(
          absl::ToInt64Nanoseconds(o.hold_duration));
    }
    if (o.max_active_holds > 0) request.set_max_active_holds(o.max_active_holds);
    grpc::ClientContext context;
    SetTimeout(&context, o.rpc_timeout);
    v1::Campaign campaign;
    grpc::Status status = stub->CreateCampaign(&context, request, &campaign);
    // The storm did not run: one code for every way it cannot finish.
    if (!status.ok()) return ReportRpcError(status, o.json, kExitFailure);
    ids.push_back(campaign.id());
  }

  // 2. The applicants, round-robin over the campaigns, through the kit.
  std::vector<verify::ApplyRecord> records(o.applicants);
  for (int64_t j = 0; j < o.applicants; ++j) {
    records[j].campaign_id = ids[j % ids.size()];
    records[j].user_id = absl::StrCat(tag, "-u", j);
  }
  verify::StormCounters counters;
  std::atomic<int64_t> pending{-1};  // -1 until the first count
  absl::Notification progress_done;
  std::thread printer(PrintProgress, &counters, &pending, o.applicants, &progress_done);

  verify::StormOptions storm;
  storm.threads = static_cast<int>(std::min<int64_t>(o.concurrency, o.applicants));
  storm.new_stub = [&](int thread) {
    return v1::CampaignQueue::NewStub(channels[thread % channels.size()]);
  };
  storm.retry.give_up = std::chrono::steady_clock::now() + kApplyRetryWindow;
  storm.retry.rpc_timeout = absl::ToChronoMilliseconds(o.rpc_timeout);
  storm.retry.backoff = {std::chrono::milliseconds(50), std::chrono::seconds(2)};
  storm.counters = &counters;
  if (holds) {
    storm.holds.campaign_ids = ids;
    storm.holds.hold_duration = absl::ToChronoMilliseconds(o.hold_duration);
    storm.holds.confirm_fraction = o.confirm_share;
    storm.holds.release_fraction = o.release_share;
    // The Applies' window, then the decide timeout.
    storm.holds.give_up = storm.retry.give_up + absl::ToChronoMilliseconds(o.decide_timeout);
  }
  // What must hold at every instant, sampled from the first Apply on.
  verify::OfferSampler sampler(o.database_url, ids, holds ? kHoldLateness : kNoLateness);
  const verify::StormResult storm_result = verify::RunStorm(records, storm);

  // 3. Wait for the workers to decide everything, and every hold to end
  // (the deadline bounds it).
  const absl::StatusOr<bool> decided = verify::WaitUntilNothingPending(
      o.database_url, ids,
      std::chrono::steady_clock::now() + absl::ToChronoMilliseconds(o.decide_timeout),
      [&](int64_t left) { pending = left; }, holds);
  const verify::OfferSamples samples = sampler.Stop();
  progress_done.Notify();
  printer.join();
  if (!decided.ok()) return ReportDatabaseError(decided.status(), o.json);

  // 4. Judge, in the database, and report.
  verify::VerifyOptions verify_options;
  verify_options.campaign_ids = ids;
  verify_options.require_audit = false;  // never installed by storm: see sql/checks/audit.sql
  verify_options.expect_holds_ended = holds;
  if (holds) verify_options.hold_lateness = kHoldLateness;
  verify_options.samples = &samples;
  absl::StatusOr<verify::Verdict> verdict = verify::Verify(o.database_url, records, verify_options);
  if (!verdict.ok()) return ReportDatabaseError(verdict.status(), o.json);
  StormReport report;
  report.verdict = *std::move(verdict);
  report.decide_timed_out = !*decided;
  report.holds = holds;
  for (const verify::HoldRecord& h : storm_result.holds) {
    ++report.holds_seen;
    if (h.done) ++(h.choice == verify::HoldChoice::kConfirm ? report.confirmed : report.released);
    if (h.choice == verify::HoldChoice::kConfirm && !h.done &&
        h.last_code == grpc::StatusCode::FAILED_PRECONDITION) {
      ++report.confirms_too_late;
    }
    if (h.choice == verify::HoldChoice::kExpire) ++report.let_expire;
  }
  report.elapsed_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  FinishReport(records, &report);

  std::cout << (o.json ? FormatStormJson(report) + "\n" : FormatStormTable(report)) << std::flush;

  // Every way the run fell short, as text lines, or under --json as one
  // error object whose exit code is the process's.
  std::vector<std::string> failures;
  int exit_code = kExitOk;
  if (!report.verdict.AllHold()) {
    failures.push_back(
        absl::StrCat("invariants broken:", o.json ? " " : "\n  ",
                     absl::StrJoin(report.verdict.violations, o.json ? "; " : "\n  ")));
    exit_code = kExitInvariantBroken;
  }
  if (report.apply_failures > 0) {
    const auto first = std::find_if(records.begin(), records.end(),
                                    [](const verify::ApplyRecord& r) { return !r.acknowledged; });
    failures.push_back(
        absl::StrCat(report.apply_failures, " Apply call(s) never confirmed; first ",
                     RpcErrorText(grpc::Status(first->last_code, first->last_message))));
    exit_code = kExitFailure;
  }
  if (report.decide_timed_out) {
    failures.push_back(absl::StrCat("error: DEADLINE_EXCEEDED: applications still pending after ",
                                    absl::FormatDuration(o.decide_timeout)));
    exit_code = kExitFailure;
  }
  if (failures.empty()) return kExitOk;
  if (o.json) {
    std::cerr << ErrorJson(exit_code == kExitInvariantBroken ? kInvariantBrokenCode : kFailureCode,
                           absl::StrJoin(failures, "; "), exit_code)
              << std::endl;
  } else {
    for (const std::string& failure : failures) std::cerr << "storm: " << failure << "\n";
    std::cerr << std::flush;
  }
  return exit_code;
}

}  // namespace campaignq::client
