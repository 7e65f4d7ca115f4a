#include "client/storm.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "campaignq/v1/campaignq.grpc.pb.h"
#include "client/applicant_record.h"
#include "client/retry.h"
#include "client/rpc.h"
#include "client/table.h"
#include "client/tally.h"

namespace campaignq::client {
namespace {

using Stub = v1::CampaignQueue::Stub;

constexpr int kMaxApplyAttempts = 8;
constexpr absl::Duration kBackoffBase = absl::Milliseconds(50);
constexpr absl::Duration kBackoffMax = absl::Seconds(2);
constexpr absl::Duration kPollInterval = absl::Milliseconds(200);
constexpr int kMaxChannels = 8;
constexpr int kListPageSize = 1000;

// Shared by the apply threads and the progress printer.
struct Progress {
  std::atomic<int64_t> sent{0};
  std::atomic<int64_t> acked{0};
  std::atomic<int64_t> failed{0};
  std::atomic<int64_t> pending{-1};  // -1 until the first poll
  int64_t total = 0;
  absl::Mutex mu;
  grpc::Status first_failure ABSL_GUARDED_BY(mu);
  bool has_failure ABSL_GUARDED_BY(mu) = false;
};

class Clock {
 public:
  Clock() : start_(std::chrono::steady_clock::now()) {}
  // Nanoseconds since the storm started; monotonic across threads.
  int64_t Now() const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() -
                                                                start_)
        .count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

// Sends one applicant's Apply, retrying transient failures with the SAME
// user id so that a retry can never create a second application.
void ApplyOne(Stub& stub, const Clock& clock, absl::Duration rpc_timeout, absl::BitGen& rng,
              ApplicantRecord* r, Progress* progress) {
  v1::ApplyRequest request;
  request.set_campaign_id(r->campaign_id);
  request.set_user_id(r->user_id);
  grpc::Status status;
  for (int attempt = 1; attempt <= kMaxApplyAttempts; ++attempt) {
    grpc::ClientContext context;
    SetTimeout(&context, rpc_timeout);
    v1::Application reply;
    if (attempt == 1) {
      r->send_ns = clock.Now();
      progress->sent.fetch_add(1, std::memory_order_relaxed);
    }
    status = stub.Apply(&context, request, &reply);
    r->reply_ns = clock.Now();
    r->attempts = attempt;
    r->code = static_cast<int>(status.error_code());
    if (status.ok()) {
      r->acknowledged = true;
      r->application_id = reply.id();
      break;
    }
    // An earlier attempt landed but its reply was lost; the id is filled
    // in from the listing after the storm.
    if (attempt > 1 && status.error_code() == grpc::StatusCode::ALREADY_EXISTS) {
      r->acknowledged = true;
      break;
    }
    if (!IsTransient(status.error_code()) || attempt == kMaxApplyAttempts) break;
    absl::SleepFor(BackoffDelay(attempt, kBackoffBase, kBackoffMax, absl::Uniform(rng, 0.0, 1.0)));
  }
  if (r->acknowledged) {
    progress->acked.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  progress->failed.fetch_add(1, std::memory_order_relaxed);
  absl::MutexLock lock(&progress->mu);
  if (!progress->has_failure) {
    progress->has_failure = true;
    progress->first_failure = status;
  }
}

// Prints "\r"-updated progress to stderr until `done`. On a terminal every
// poll interval; otherwise (logs) a full line every 5 seconds.
void PrintProgress(Progress* progress, absl::Notification* done) {
  const bool tty = isatty(STDERR_FILENO);
  const absl::Duration every = tty ? kPollInterval : absl::Seconds(5);
  auto line = [&] {
    const int64_t pending = progress->pending.load();
    const int64_t acked = progress->acked.load();
    std::string decided = pending < 0 ? "?" : absl::StrCat(std::max<int64_t>(0, acked - pending));
    return absl::StrCat("storm: sent ", progress->sent.load(), "/", progress->total, " acked ",
                        acked, " failed ", progress->failed.load(), " decided ", decided, "    ");
  };
  while (!done->WaitForNotificationWithTimeout(every)) {
    std::cerr << (tty ? "\r" : "") << line() << (tty ? "" : "\n") << std::flush;
  }
  std::cerr << (tty ? "\r" : "") << line() << "\n" << std::flush;
}

// Sets *pending to the applications still pending across `ids`, from
// GetQueueStats (one call however many campaigns there are).
grpc::Status CountPending(Stub& stub, const std::vector<int64_t>& ids, absl::Duration rpc_timeout,
                          int64_t* pending) {
  grpc::ClientContext context;
  SetTimeout(&context, rpc_timeout);
  v1::QueueStats stats;
  grpc::Status status = stub.GetQueueStats(&context, v1::GetQueueStatsRequest(), &stats);
  if (!status.ok()) return status;
  *pending = 0;
  for (const v1::CampaignQueueStats& c : stats.campaigns()) {
    if (std::binary_search(ids.begin(), ids.end(), c.campaign_id())) *pending += c.pending();
  }
  return grpc::Status::OK;
}

grpc::Status FetchApplications(Stub& stub, int64_t campaign_id, absl::Duration rpc_timeout,
                               std::vector<v1::Application>* out) {
  v1::ListApplicationsRequest request;
  request.set_campaign_id(campaign_id);
  request.set_page_size(kListPageSize);
  do {
    grpc::ClientContext context;
    SetTimeout(&context, rpc_timeout);
    v1::ListApplicationsResponse page;
    grpc::Status status = stub.ListApplications(&context, request, &page);
    if (!status.ok()) return status;
    out->insert(out->end(), page.applications().begin(), page.applications().end());
    request.set_page_token(page.next_page_token());
  } while (!request.page_token().empty());
  return grpc::Status::OK;
}

std::string BrokenList(const InvariantCounts& inv) {
  std::string out;
  if (inv.over_cap) absl::StrAppend(&out, " (a) approved > cap");
  if (inv.fill_wrong) absl::StrAppend(&out, " (b) approved != min(cap, applied)");
  if (inv.count_mismatch) absl::StrAppend(&out, " (c) approved_count != approved rows");
  if (inv.ack_missing + inv.ack_duplicated + inv.ack_pending) {
    absl::StrAppend(&out, " (d) acknowledged apply missing/duplicated/pending");
  }
  if (inv.fcfs) absl::StrAppend(&out, " (e) FCFS violated");
  return out;
}

}  // namespace

int RunStorm(const CliOptions& o) {
  if (o.campaigns < 1) return ReportUsageError("storm needs --campaigns >= 1");
  if (o.applicants < 1) return ReportUsageError("storm needs --applicants >= 1");
  if (o.cap < 0) return ReportUsageError("--cap must be >= 0 (0 = unlimited)");
  if (o.concurrency < 1) return ReportUsageError("--concurrency must be >= 1");
  if (o.applicants > std::numeric_limits<int32_t>::max()) {
    return ReportUsageError("--applicants is too large");
  }

  const Clock clock;
  const int channels = std::min<int>(kMaxChannels, 1 + o.concurrency / 16);
  std::vector<std::unique_ptr<Stub>> stubs;
  for (int i = 0; i < channels; ++i)
    stubs.push_back(v1::CampaignQueue::NewStub(MakeChannel(o.server, i)));
  Stub& stub = *stubs[0];

  // 1. Fresh campaigns, so nothing but this storm touches them.
  const std::string tag = absl::StrCat("storm-", absl::ToUnixMillis(absl::Now()));
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < o.campaigns; ++i) {
    v1::CreateCampaignRequest request;
    request.set_name(absl::StrCat(tag, "-", i));
    if (o.cap > 0) request.set_max_participants(o.cap);
    request.set_waitlist(o.waitlist.value_or(true));
    grpc::ClientContext context;
    SetTimeout(&context, o.rpc_timeout);
    v1::Campaign campaign;
    grpc::Status status = stub.CreateCampaign(&context, request, &campaign);
    if (!status.ok()) return ReportRpcError(status);
    ids.push_back(campaign.id());
  }

  // 2. The applicants, round-robin over the campaigns.
  std::vector<ApplicantRecord> records(o.applicants);
  for (int64_t j = 0; j < o.applicants; ++j) {
    records[j].campaign_id = ids[j % ids.size()];
    records[j].user_id = absl::StrCat(tag, "-u", j);
  }
  Progress progress;
  progress.total = o.applicants;
  absl::Notification progress_done;
  std::thread printer(PrintProgress, &progress, &progress_done);

  std::atomic<int64_t> next{0};
  std::vector<std::thread> workers;
  const int threads = static_cast<int>(std::min<int64_t>(o.concurrency, o.applicants));
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      absl::BitGen rng;
      Stub& my_stub = *stubs[t % stubs.size()];
      for (int64_t j = next++; j < o.applicants; j = next++) {
        ApplyOne(my_stub, clock, o.rpc_timeout, rng, &records[j], &progress);
      }
    });
  }
  for (std::thread& w : workers) w.join();

  // 3. Wait for the workers to decide everything; the poll interval is the
  // only sleep, and the deadline bounds the wait.
  std::vector<int64_t> sorted_ids = ids;
  std::sort(sorted_ids.begin(), sorted_ids.end());
  const absl::Time decide_deadline = absl::Now() + o.decide_timeout;
  bool timed_out = false;
  grpc::Status poll_error;
  for (;;) {
    int64_t pending = 0;
    grpc::Status status = CountPending(stub, sorted_ids, o.rpc_timeout, &pending);
    if (status.ok()) {
      progress.pending = pending;
      if (pending == 0) break;
    } else if (!IsTransient(status.error_code())) {
      poll_error = status;
      break;
    }
    if (absl::Now() >= decide_deadline) {
      timed_out = true;
      break;
    }
    absl::SleepFor(kPollInterval);
  }
  progress_done.Notify();
  printer.join();
  if (!poll_error.ok()) return ReportRpcError(poll_error);

  // 4. Everything the storm produced, straight from the service.
  std::vector<v1::Campaign> campaigns;
  std::vector<v1::Application> applications;
  for (int64_t id : ids) {
    v1::GetCampaignRequest request;
    request.set_campaign_id(id);
    grpc::ClientContext context;
    SetTimeout(&context, o.rpc_timeout);
    v1::Campaign campaign;
    grpc::Status status = stub.GetCampaign(&context, request, &campaign);
    if (!status.ok()) return ReportRpcError(status);
    campaigns.push_back(campaign);
    status = FetchApplications(stub, id, o.rpc_timeout, &applications);
    if (!status.ok()) return ReportRpcError(status);
  }

  // 5. Judge and report.
  AttachOutcomes(applications, &records);
  StormReport report = EvaluateStorm(campaigns, applications, records);
  report.decide_timed_out = timed_out;
  report.elapsed_seconds = static_cast<double>(clock.Now()) / 1e9;
  int64_t first_send = std::numeric_limits<int64_t>::max();
  int64_t last_reply = 0;
  for (const ApplicantRecord& r : records) {
    if (r.attempts == 0) continue;
    first_send = std::min(first_send, r.send_ns);
    last_reply = std::max(last_reply, r.reply_ns);
  }
  if (last_reply > first_send) report.apply_seconds = (last_reply - first_send) / 1e9;
  report.decide_seconds = DecisionSpanSeconds(applications);
  FinishRates(&report);

  std::cout << (o.json ? FormatStormJson(report) + "\n" : FormatStormTable(report)) << std::flush;

  int exit_code = kExitOk;
  if (!report.invariants.AllHold()) {
    std::cerr << "storm: invariants broken:" << BrokenList(report.invariants) << std::endl;
    exit_code = kExitInvariantBroken;
  }
  {
    absl::MutexLock lock(&progress.mu);
    if (progress.has_failure) {
      std::cerr << "storm: " << report.apply_failures << " Apply call(s) never confirmed; first "
                << RpcErrorText(progress.first_failure) << std::endl;
      exit_code = kExitFailure;
    }
  }
  if (timed_out) {
    std::cerr << "storm: error: DEADLINE_EXCEEDED: applications still pending after "
              << absl::FormatDuration(o.decide_timeout) << std::endl;
    exit_code = kExitFailure;
  }
  return exit_code;
}

}  // namespace campaignq::client
