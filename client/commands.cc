#include "client/commands.h"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "client/apply_file.h"
#include "client/format.h"
#include "client/rpc.h"
#include "common/backoff.h"
#include "common/store/validation.h"
#include "google/protobuf/util/time_util.h"

namespace campaignq::client {
namespace {

// create-campaign's own retries of a call whose outcome it did not learn;
// the request id makes them safe (nothing is created twice).
constexpr int kCreateAttempts = 3;
// The largest page the server returns (campaignq.proto: page_size).
constexpr int32_t kMaxPageSize = 1000;

void PrintCampaign(const v1::Campaign& c, const CliOptions& o) {
  std::cout << (o.json ? ToJson(c) : CampaignText(c)) << "\n";
}

void PrintApplication(const v1::Application& a, const CliOptions& o) {
  std::cout << (o.json ? ToJson(a) : ApplicationText(a)) << "\n";
}

// Ids must be given and positive; the server would say the same, but a
// usage error names the flag.
bool NeedId(int64_t id, const char* flag, const CliOptions& o, int* exit_code) {
  if (id > 0) return true;
  *exit_code =
      ReportUsageError(absl::StrCat("--", flag, "=ID is required (a positive id)"), o.json);
  return false;
}

// --opens-at/--closes-at: RFC 3339 ("2026-05-01T10:00:00Z"); empty: unset.
bool ParseTimeFlag(const std::string& text, const char* flag, const CliOptions& o,
                   google::protobuf::Timestamp* out, int* exit_code) {
  if (text.empty()) return true;
  absl::Time time;
  std::string why;
  if (!absl::ParseTime(absl::RFC3339_full, text, &time, &why)) {
    *exit_code =
        ReportUsageError(absl::StrCat("--", flag, "=", text,
                                      ": want RFC 3339, e.g. 2026-05-01T10:00:00Z (", why, ")"),
                         o.json);
    return false;
  }
  *out = google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(time));
  return true;
}

// Follows next_page_token until the last page or --limit rows. Each row is
// printed (text) or appended to one merged response (JSON: `jq` sees every
// page in one document). Asking for no more than the rows still wanted
// makes the last page end at the limit, so the next_page_token left in the
// JSON (only when more rows exist) continues right after the last row.
// `call(context, request, page)` is the RPC; `rows(response)` its repeated
// field.
template <typename Request, typename Response, typename Call, typename Rows, typename Print>
int ListPages(Request request, const CliOptions& o, Call call, Rows rows, Print print) {
  Response all;
  int64_t left = o.limit > 0 ? o.limit : -1;
  const int32_t page_size = o.page_size;
  do {
    if (left > 0) {
      const int64_t want = std::min<int64_t>(left, page_size > 0 ? page_size : kMaxPageSize);
      request.set_page_size(static_cast<int32_t>(want));
    }
    grpc::ClientContext context;
    SetTimeout(&context, o.rpc_timeout);
    Response page;
    grpc::Status status = call(&context, request, &page);
    if (!status.ok()) return ReportRpcError(status, o.json);
    for (const auto& row : *rows(&page)) {
      if (o.json) {
        *rows(&all)->Add() = row;
      } else {
        print(row);
      }
      if (left > 0) --left;
    }
    request.set_page_token(page.next_page_token());
  } while (!request.page_token().empty() && left != 0);
  if (o.json) {
    all.set_next_page_token(request.page_token());
    std::cout << ToJson(all) << "\n";
  }
  return kExitOk;
}

int ListCampaigns(Stub& stub, const CliOptions& o) {
  v1::ListCampaignsRequest request;
  request.set_page_size(o.page_size);
  return ListPages<v1::ListCampaignsRequest, v1::ListCampaignsResponse>(
      request, o,
      [&](grpc::ClientContext* c, const v1::ListCampaignsRequest& r, v1::ListCampaignsResponse* p) {
        return stub.ListCampaigns(c, r, p);
      },
      [](v1::ListCampaignsResponse* p) { return p->mutable_campaigns(); },
      [&](const v1::Campaign& c) { PrintCampaign(c, o); });
}

int ListApplications(Stub& stub, const CliOptions& o) {
  v1::ListApplicationsRequest request;
  request.set_campaign_id(o.campaign);
  request.set_page_size(o.page_size);
  if (!o.status.empty()) {
    v1::ApplicationStatus status =
        store::ApplicationStatusFromWord(absl::AsciiStrToLower(o.status));
    if (status == v1::APPLICATION_STATUS_UNSPECIFIED) {
      return ReportUsageError(
          absl::StrCat("--status=", o.status,
                       ": want pending, approved, waitlisted, rejected, cancelled, failed, "
                       "held, released or expired"),
          o.json);
    }
    request.set_status(status);
  }
  return ListPages<v1::ListApplicationsRequest, v1::ListApplicationsResponse>(
      request, o,
      [&](grpc::ClientContext* c, const v1::ListApplicationsRequest& r,
          v1::ListApplicationsResponse* p) { return stub.ListApplications(c, r, p); },
      [](v1::ListApplicationsResponse* p) { return p->mutable_applications(); },
      [&](const v1::Application& a) { PrintApplication(a, o); });
}

// The statuses after which the server ends a watch with OK
// (server/application_watch.h); waitlisted is not one of them.
bool IsFinalForWatch(v1::ApplicationStatus status) {
  return status == v1::APPLICATION_STATUS_APPROVED || status == v1::APPLICATION_STATUS_REJECTED ||
         status == v1::APPLICATION_STATUS_CANCELLED || status == v1::APPLICATION_STATUS_FAILED ||
         status == v1::APPLICATION_STATUS_RELEASED || status == v1::APPLICATION_STATUS_EXPIRED;
}

// Codes after which a CreateCampaign may or may not have happened, and a
// retry with the same request id returns what it did.
bool OutcomeUnknown(const grpc::Status& status) {
  return status.error_code() == grpc::StatusCode::UNAVAILABLE ||
         status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
         status.error_code() == grpc::StatusCode::UNKNOWN;
}

}  // namespace

bool IdArgument(const CliOptions& o, const char* command, const char* what, int64_t flag_id,
                int64_t* id, int* exit_code) {
  if (o.args.empty() && flag_id > 0) {
    *id = flag_id;
    return true;
  }
  if (flag_id == 0 && o.args.size() == 1 && absl::SimpleAtoi(o.args[0], id) && *id > 0) {
    return true;
  }
  *exit_code = ReportUsageError(
      absl::StrCat(command, " needs the ", what, " id, a positive integer: `", command, " ID`"),
      o.json);
  return false;
}

int RunCreateCampaign(Stub& stub, const CliOptions& o) {
  if (o.name.empty()) return ReportUsageError("create-campaign needs --name=NAME", o.json);
  if (o.cap < 0) return ReportUsageError("--cap must be >= 0 (0 = unlimited)", o.json);
  v1::CreateCampaignRequest request;
  request.set_name(o.name);
  if (o.cap > 0) request.set_max_participants(o.cap);
  if (o.waitlist) request.set_waitlist(*o.waitlist);
  int code = kExitOk;
  if (!ParseTimeFlag(o.opens_at, "opens-at", o, request.mutable_opens_at(), &code) ||
      !ParseTimeFlag(o.closes_at, "closes-at", o, request.mutable_closes_at(), &code) ||
      !ParseTimeFlag(o.prequeue_opens_at, "prequeue-opens-at", o,
                     request.mutable_prequeue_opens_at(), &code)) {
    return code;
  }
  if (o.opens_at.empty()) request.clear_opens_at();
  if (o.closes_at.empty()) request.clear_closes_at();
  if (o.prequeue_opens_at.empty()) request.clear_prequeue_opens_at();
  // The server checks the bounds (1s to 24h, needs a cap); only the sign
  // is the CLI's, since 0 means unset.
  if (o.hold_duration < absl::ZeroDuration()) {
    return ReportUsageError("--hold-duration must be >= 0 (0 = approvals are final)", o.json);
  }
  if (o.hold_duration > absl::ZeroDuration()) {
    *request.mutable_hold_duration() = google::protobuf::util::TimeUtil::NanosecondsToDuration(
        absl::ToInt64Nanoseconds(o.hold_duration));
  }
  if (o.max_active_holds < 0) {
    return ReportUsageError("--max-active-holds must be >= 0 (0 = as many as seats)", o.json);
  }
  if (o.max_active_holds > 0) request.set_max_active_holds(o.max_active_holds);
  request.set_request_id(o.request_id.empty() ? RandomUuid() : o.request_id);

  absl::BitGen random;
  grpc::Status status;
  v1::Campaign campaign;
  for (int attempt = 0; attempt < kCreateAttempts; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(JitteredBackoff({}, attempt, random));
    grpc::ClientContext context;
    SetTimeout(&context, o.rpc_timeout);
    status = stub.CreateCampaign(&context, request, &campaign);
    if (!OutcomeUnknown(status)) break;
  }
  if (!status.ok()) {
    const int exit_code = ReportRpcError(status, o.json);
    if (OutcomeUnknown(status) && !o.json) {
      std::cerr << "the campaign may exist: repeat with --request-id=" << request.request_id()
                << " to get it without creating another" << std::endl;
    }
    return exit_code;
  }
  PrintCampaign(campaign, o);
  return kExitOk;
}

int RunApply(Stub& stub, const CliOptions& o) {
  int code = kExitOk;
  if (!o.file.empty()) {
    if (!o.user.empty()) return ReportUsageError("apply takes --user or --file, not both", o.json);
    return RunApplyFile(stub, o);
  }
  if (!NeedId(o.campaign, "campaign", o, &code)) return code;
  if (o.user.empty()) return ReportUsageError("apply needs --user=USER", o.json);
  v1::ApplyRequest request;
  request.set_campaign_id(o.campaign);
  request.set_user_id(o.user);
  grpc::ClientContext context;
  SetTimeout(&context, o.rpc_timeout);
  v1::Application application;
  grpc::Status status = stub.Apply(&context, request, &application);
  if (!status.ok()) return ReportRpcError(status, o.json);
  PrintApplication(application, o);
  return kExitOk;
}

int RunGet(Stub& stub, const CliOptions& o) {
  if (o.campaign > 0) {
    if (!o.args.empty() || o.application > 0) {
      return ReportUsageError("get needs one of ID, --application=ID or --campaign=ID", o.json);
    }
    return RunGetCampaign(stub, o);
  }
  int code = kExitOk;
  int64_t id = 0;
  if (!IdArgument(o, "get", "application", o.application, &id, &code)) return code;
  v1::GetApplicationRequest request;
  request.set_application_id(id);
  grpc::ClientContext context;
  SetTimeout(&context, o.rpc_timeout);
  v1::Application application;
  grpc::Status status = stub.GetApplication(&context, request, &application);
  if (!status.ok()) return ReportRpcError(status, o.json);
  PrintApplication(application, o);
  return kExitOk;
}

int RunGetCampaign(Stub& stub, const CliOptions& o) {
  int code = kExitOk;
  int64_t id = 0;
  if (!IdArgument(o, "get-campaign", "campaign", o.campaign, &id, &code)) return code;
  v1::GetCampaignRequest request;
  request.set_campaign_id(id);
  grpc::ClientContext context;
  SetTimeout(&context, o.rpc_timeout);
  v1::Campaign campaign;
  grpc::Status status = stub.GetCampaign(&context, request, &campaign);
  if (!status.ok()) return ReportRpcError(status, o.json);
  PrintCampaign(campaign, o);
  return kExitOk;
}

int RunWatch(Stub& stub, const CliOptions& o) {
  int code = kExitOk;
  int64_t id = 0;
  if (!IdArgument(o, "watch", "application", o.application, &id, &code)) return code;
  v1::WatchApplicationRequest request;
  request.set_application_id(id);
  grpc::ClientContext context;
  SetTimeout(&context, o.timeout > absl::ZeroDuration() ? o.timeout : absl::Seconds(30));
  auto reader = stub.WatchApplication(&context, request);
  v1::Application application;
  bool final_status = false;
  while (reader->Read(&application)) {
    std::cout << (o.json ? ToJson(application) : WatchText(application)) << "\n";
    std::cout.flush();  // states arrive slowly; show each as it comes
    final_status = IsFinalForWatch(application.status());
  }
  grpc::Status status = reader->Finish();
  if (!status.ok()) return ReportRpcError(status, o.json);
  if (!final_status) {
    // The server ends every watch after its maximum watch duration.
    return ReportRpcError(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                                       "the server ended the watch (its maximum watch duration) "
                                       "before a final status; watch again to keep following"),
                          o.json);
  }
  return kExitOk;
}

int RunList(Stub& stub, const CliOptions& o) {
  if (o.args.size() > 1) {
    return ReportUsageError("list takes at most one argument: campaigns", o.json);
  }
  if (o.page_size < 0) return ReportUsageError("--page-size must be >= 0", o.json);
  if (o.limit < 0) return ReportUsageError("--limit must be >= 0 (0 = every row)", o.json);
  if (!o.args.empty()) {
    if (o.args[0] == "campaigns") {
      // The table lets `list` take them for applications; campaigns have neither.
      if (o.campaign != 0 || !o.status.empty()) {
        return ReportUsageError("list campaigns takes no --campaign or --status", o.json);
      }
      return ListCampaigns(stub, o);
    }
    if (o.args[0] != "applications") {
      return ReportUsageError(absl::StrCat("list ", o.args[0],
                                           ": want `list campaigns` or "
                                           "`list [applications] [--campaign=ID]`"),
                              o.json);
    }
  }
  return ListApplications(stub, o);
}

namespace {

// `command ID`: one RPC on an application, which it prints.
template <typename Request, typename Call>
int ApplicationCall(Stub& stub, const CliOptions& o, const char* command, Call call) {
  int code = kExitOk;
  int64_t id = 0;
  if (!IdArgument(o, command, "application", o.application, &id, &code)) return code;
  Request request;
  request.set_application_id(id);
  grpc::ClientContext context;
  SetTimeout(&context, o.rpc_timeout);
  v1::Application application;
  grpc::Status status = call(&context, request, &application);
  if (!status.ok()) return ReportRpcError(status, o.json);
  PrintApplication(application, o);
  return kExitOk;
}

}  // namespace

int RunCancel(Stub& stub, const CliOptions& o) {
  return ApplicationCall<v1::CancelApplicationRequest>(
      stub, o, "cancel",
      [&](grpc::ClientContext* c, const v1::CancelApplicationRequest& r, v1::Application* out) {
        return stub.CancelApplication(c, r, out);
      });
}

int RunConfirm(Stub& stub, const CliOptions& o) {
  return ApplicationCall<v1::ConfirmApplicationRequest>(
      stub, o, "confirm",
      [&](grpc::ClientContext* c, const v1::ConfirmApplicationRequest& r, v1::Application* out) {
        return stub.ConfirmApplication(c, r, out);
      });
}

int RunRelease(Stub& stub, const CliOptions& o) {
  return ApplicationCall<v1::ReleaseApplicationRequest>(
      stub, o, "release",
      [&](grpc::ClientContext* c, const v1::ReleaseApplicationRequest& r, v1::Application* out) {
        return stub.ReleaseApplication(c, r, out);
      });
}

int RunClose(Stub& stub, const CliOptions& o) {
  int code = kExitOk;
  int64_t id = 0;
  if (!IdArgument(o, "close", "campaign", o.campaign, &id, &code)) return code;
  v1::CloseCampaignRequest request;
  request.set_campaign_id(id);
  grpc::ClientContext context;
  SetTimeout(&context, o.rpc_timeout);
  v1::Campaign campaign;
  grpc::Status status = stub.CloseCampaign(&context, request, &campaign);
  if (!status.ok()) return ReportRpcError(status, o.json);
  PrintCampaign(campaign, o);
  return kExitOk;
}

// The totals of the first page, and the campaigns of every page (up to
// --limit), as one QueueStats.
int RunStats(Stub& stub, const CliOptions& o) {
  if (o.limit < 0) return ReportUsageError("--limit must be >= 0 (0 = every campaign)", o.json);
  v1::GetQueueStatsRequest request;
  *request.mutable_stall_threshold() = google::protobuf::util::TimeUtil::NanosecondsToDuration(
      absl::ToInt64Nanoseconds(o.stall_threshold));
  v1::QueueStats stats;
  do {
    // As ListPages: the last page ends at --limit, so next_page_token
    // continues right after the last campaign shown.
    const int64_t left = o.limit > 0 ? o.limit - stats.campaigns_size() : 0;
    request.set_page_size(left > 0 ? static_cast<int32_t>(std::min<int64_t>(
                                         left, o.page_size > 0 ? o.page_size : kMaxPageSize))
                                   : o.page_size);
    grpc::ClientContext context;
    SetTimeout(&context, o.rpc_timeout);
    v1::QueueStats page;
    grpc::Status status = stub.GetQueueStats(&context, request, &page);
    if (!status.ok()) return ReportRpcError(status, o.json);
    if (request.page_token().empty()) {
      stats = page;
    } else {
      stats.mutable_campaigns()->MergeFrom(page.campaigns());
      stats.set_next_page_token(page.next_page_token());
    }
    request.set_page_token(page.next_page_token());
  } while (!request.page_token().empty() && (o.limit == 0 || stats.campaigns_size() < o.limit));
  if (o.json) {
    std::cout << ToJson(stats) << "\n";
  } else {
    std::cout << QueueStatsText(stats);
  }
  return kExitOk;
}

}  // namespace campaignq::client
