#include "server/console/console_api.h"

#include <set>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/log.h"
#include "common/store/worker_heartbeat.h"
#include "server/client_message.h"

namespace campaignq::server::console {
namespace {

constexpr char kComponent[] = "console";

// The actions the store offers in this build, in the order the page shows them.
const std::vector<std::string>& AvailableActions() {
  static const auto* actions =
      new std::vector<std::string>{"close", "pause", "resume", "retry-failed", "retry-application"};
  return *actions;
}

int HttpStatusFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

absl::StatusOr<int64_t> ParseId(absl::string_view text, absl::string_view what) {
  int64_t id = 0;
  if (!absl::SimpleAtoi(text, &id) || id <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(what, " must be a positive id"));
  }
  return id;
}

std::string QueryValue(const ApiRequest& request, const std::string& key) {
  auto it = request.query.find(key);
  return it == request.query.end() ? "" : it->second;
}

absl::StatusOr<v1::ApplicationStatus> ParseStatus(const std::string& word) {
  if (word.empty() || word == "all") return v1::APPLICATION_STATUS_UNSPECIFIED;
  v1::ApplicationStatus status;
  if (!v1::ApplicationStatus_Parse(absl::StrCat("APPLICATION_STATUS_", absl::AsciiStrToUpper(word)),
                                   &status) ||
      status == v1::APPLICATION_STATUS_UNSPECIFIED) {
    return absl::InvalidArgumentError(absl::StrCat("unknown status '", word, "'"));
  }
  return status;
}

nlohmann::json OrNull(int64_t millis) {
  return millis == 0 ? nlohmann::json(nullptr) : nlohmann::json(millis);
}

}  // namespace

nlohmann::json CampaignJson(const v1::Campaign& campaign) {
  return {
      {"id", campaign.id()},
      {"name", campaign.name()},
      {"cap",
       campaign.has_max_participants() ? nlohmann::json(campaign.max_participants()) : nullptr},
      {"approved", campaign.approved_count()},
      {"waitlist", campaign.waitlist()},
      {"status", StatusWord(campaign.status())},
      {"paused", campaign.paused()},
      {"opens_ms", OrNull(MillisOf(campaign.opens_at()))},
      {"closes_ms", OrNull(MillisOf(campaign.closes_at()))},
      {"created_ms", OrNull(MillisOf(campaign.create_time()))},
      {"closed_ms", OrNull(MillisOf(campaign.close_time()))},
  };
}

nlohmann::json ApplicationJson(const v1::Application& application, bool sees_user_ids) {
  nlohmann::json json = {
      {"id", application.id()},
      {"campaign_id", application.campaign_id()},
      {"status", StatusWord(application.status())},
      {"reason", application.reason()},
      {"attempts", application.attempts()},
      {"created_ms", OrNull(MillisOf(application.create_time()))},
      {"decided_ms", OrNull(MillisOf(application.decide_time()))},
      {"updated_ms", OrNull(MillisOf(application.update_time()))},
  };
  if (sees_user_ids) {
    json["user_id"] = application.user_id();
    json["last_error"] = application.last_error();
  }
  return json;
}

ConsoleApi::ConsoleApi(store::CampaignStore* store, db::ConnectionPool* workers_pool,
                       ConsoleLive* live, ConsoleApiOptions options)
    : store_(store),
      workers_pool_(workers_pool),
      live_(live),
      options_(options),
      list_rate_(options.list_rate) {}

ApiResponse ConsoleApi::Error(const absl::Status& status) {
  const int http = HttpStatusFor(status.code());
  if (IsServerFault(status.code()) || !MessageIsForClient(status)) {
    // Database text, host and role names stay in the log.
    LogWarning(kComponent, "request failed: ", status.ToString());
  }
  nlohmann::json body = {{"error", ClientMessage(status)},
                         {"code", absl::StatusCodeToString(status.code())}};
  return {http, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

ApiResponse ConsoleApi::Handle(const ApiRequest& request) {
  absl::StatusOr<nlohmann::json> result = Route(request, absl::Now() + options_.call_deadline);
  if (!result.ok()) return Error(result.status());
  return {200, result->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

absl::Status ConsoleApi::AdmitListPage(const Principal& principal) {
  return list_rate_.Take(principal.role, "console list pages");
}

absl::StatusOr<nlohmann::json> ConsoleApi::Route(const ApiRequest& request, absl::Time deadline) {
  // "/api/campaigns/3/close" -> {"api", "campaigns", "3", "close"}
  std::vector<std::string> parts = absl::StrSplit(request.path, '/', absl::SkipEmpty());
  if (parts.empty() || parts[0] != "api") return absl::NotFoundError("no such API");
  parts.erase(parts.begin());
  const bool get = request.method == "GET";
  const bool post = request.method == "POST";
  const size_t n = parts.size();

  if (get && n == 1 && parts[0] == "whoami") {
    nlohmann::json actions = nlohmann::json::array();
    if (request.principal.may_act) {
      for (const std::string& action : AvailableActions()) actions.push_back(action);
    }
    return nlohmann::json{{"role", request.principal.role},
                          {"may_act", request.principal.may_act},
                          {"sees_user_ids", request.principal.sees_user_ids},
                          {"actions", actions}};
  }
  if (get && n == 1 && parts[0] == "overview") return live_->BuildOverview();
  if (get && n == 1 && parts[0] == "workers") return Workers();
  if (get && n == 1 && parts[0] == "failed") {
    int64_t campaign_id = 0;
    if (const std::string campaign = QueryValue(request, "campaign"); !campaign.empty()) {
      absl::StatusOr<int64_t> id = ParseId(campaign, "campaign");
      if (!id.ok()) return id.status();
      campaign_id = *id;
    }
    return Applications(campaign_id, "failed", request, deadline);
  }
  if (n >= 2 && parts[0] == "campaigns") {
    absl::StatusOr<int64_t> id = ParseId(parts[1], "campaign id");
    if (!id.ok()) return id.status();
    if (get && n == 2) return Campaign(*id, request.principal, deadline);
    if (get && n == 3 && parts[2] == "applications") {
      return Applications(*id, QueryValue(request, "status"), request, deadline);
    }
    if (post && n == 3) return Act(parts[2], *id, request.principal, deadline);
  }
  if (post && n == 2 && parts[0] == "failed" && parts[1] == "retry-all") {
    return RetryAllFailed(request.principal, deadline);
  }
  if (post && n == 3 && parts[0] == "applications" && parts[2] == "retry") {
    absl::StatusOr<int64_t> id = ParseId(parts[1], "application id");
    if (!id.ok()) return id.status();
    return Act("retry-application", *id, request.principal, deadline);
  }
  return absl::NotFoundError(absl::StrCat("no API ", request.method, " ", request.path));
}

absl::StatusOr<nlohmann::json> ConsoleApi::Campaign(int64_t campaign_id, const Principal& principal,
                                                    absl::Time deadline) {
  absl::StatusOr<v1::Campaign> campaign = store_->GetCampaign(campaign_id, deadline);
  if (!campaign.ok()) return campaign.status();
  nlohmann::json actions = nlohmann::json::array();
  if (principal.may_act) {
    for (const std::string& action : AvailableActions()) actions.push_back(action);
  }
  return nlohmann::json{{"campaign", CampaignJson(*campaign)},
                        {"counts", live_->LatestCampaign(campaign_id)},
                        {"fill", live_->FillHistory(campaign_id)},
                        {"actions", actions}};
}

absl::StatusOr<nlohmann::json> ConsoleApi::Applications(int64_t campaign_id,
                                                        const std::string& status_word,
                                                        const ApiRequest& request,
                                                        absl::Time deadline) {
  absl::StatusOr<v1::ApplicationStatus> status = ParseStatus(status_word);
  if (!status.ok()) return status.status();
  if (absl::Status admitted = AdmitListPage(request.principal); !admitted.ok()) return admitted;
  v1::ListApplicationsRequest list;
  list.set_campaign_id(campaign_id);
  list.set_status(*status);
  list.set_page_token(QueryValue(request, "page_token"));
  if (const std::string size = QueryValue(request, "page_size"); !size.empty()) {
    int page_size = 0;
    if (!absl::SimpleAtoi(size, &page_size) || page_size < 1 || page_size > 1000) {
      return absl::InvalidArgumentError("page_size must be 1 to 1000");
    }
    list.set_page_size(page_size);
  } else {
    list.set_page_size(50);
  }
  absl::StatusOr<v1::ListApplicationsResponse> page = store_->ListApplications(list, deadline);
  if (!page.ok()) return page.status();
  nlohmann::json applications = nlohmann::json::array();
  for (const v1::Application& application : page->applications()) {
    applications.push_back(ApplicationJson(application, request.principal.sees_user_ids));
  }
  return nlohmann::json{{"applications", applications},
                        {"next_page_token", page->next_page_token()}};
}

absl::StatusOr<nlohmann::json> ConsoleApi::Workers() {
  absl::StatusOr<std::vector<store::WorkerStatus>> workers = store::ListWorkers(workers_pool_);
  if (!workers.ok()) return workers.status();
  nlohmann::json list = nlohmann::json::array();
  for (const store::WorkerStatus& w : *workers) {
    list.push_back({
        {"id", w.worker_id},
        {"host", w.host},
        {"pid", w.pid},
        {"lock_mode", w.lock_mode},
        {"threads", w.threads},
        {"interval_ms", w.interval_ms},
        {"started_ms", w.started_micros / 1000},
        {"last_seen_ms", w.last_seen_micros / 1000},
        {"stopped_ms", OrNull(w.stopped_micros / 1000)},
        {"seen_ago_s", w.seen_ago_micros / 1e6},
        {"decided_last_minute", w.decided_last_minute},
        {"errors_last_minute", w.errors_last_minute},
        {"state", store::WorkerStateName(w.state)},
    });
  }
  return nlohmann::json{{"workers", list}, {"gone_after_intervals", store::kGoneAfterIntervals}};
}

absl::StatusOr<nlohmann::json> ConsoleApi::RetryAllFailed(const Principal& principal,
                                                          absl::Time deadline) {
  if (!principal.may_act) {
    return absl::PermissionDeniedError(
        absl::StrCat("role ", principal.role, " may not retry; admin may"));
  }
  if (absl::Status admitted = AdmitListPage(principal); !admitted.ok()) return admitted;
  // The campaigns with failed applications (the failed are few: a
  // dead-letter queue), then the store's bulk retry for each open one.
  std::set<int64_t> campaigns;
  v1::ListApplicationsRequest list;
  list.set_status(v1::APPLICATION_STATUS_FAILED);
  list.set_page_size(1000);
  do {
    absl::StatusOr<v1::ListApplicationsResponse> page = store_->ListApplications(list, deadline);
    if (!page.ok()) return page.status();
    for (const v1::Application& application : page->applications()) {
      campaigns.insert(application.campaign_id());
    }
    list.set_page_token(page->next_page_token());
  } while (!list.page_token().empty());
  int64_t retried = 0;
  int64_t skipped_campaigns = 0;
  for (const int64_t campaign_id : campaigns) {
    absl::StatusOr<int64_t> count = store_->RetryFailedApplications(campaign_id, deadline);
    if (count.ok()) {
      retried += *count;
    } else if (count.status().code() == absl::StatusCode::kFailedPrecondition) {
      ++skipped_campaigns;  // closed: its failed applications stay failed
    } else {
      return count.status();
    }
  }
  LogInfo(kComponent, retried, " failed applications retried from the console by ", principal.role);
  return nlohmann::json{{"retried", retried}, {"skipped_closed_campaigns", skipped_campaigns}};
}

absl::StatusOr<nlohmann::json> ConsoleApi::Act(const std::string& action, int64_t id,
                                               const Principal& principal, absl::Time deadline) {
  if (!principal.may_act) {
    return absl::PermissionDeniedError(
        absl::StrCat("role ", principal.role, " may not ", action, "; admin may"));
  }
  if (action == "close") {
    absl::StatusOr<v1::Campaign> campaign = store_->CloseCampaign(id, deadline);
    if (!campaign.ok()) return campaign.status();
    LogInfo(kComponent, "campaign ", id, " closed from the console by ", principal.role);
    return nlohmann::json{{"campaign", CampaignJson(*campaign)}};
  }
  if (action == "pause" || action == "resume") {
    absl::StatusOr<v1::Campaign> campaign = action == "pause"
                                                ? store_->PauseCampaign(id, deadline)
                                                : store_->ResumeCampaign(id, deadline);
    if (!campaign.ok()) return campaign.status();
    LogInfo(kComponent, "campaign ", id, " ", action, "d from the console by ", principal.role);
    return nlohmann::json{{"campaign", CampaignJson(*campaign)}};
  }
  if (action == "retry-failed") {
    absl::StatusOr<int64_t> retried = store_->RetryFailedApplications(id, deadline);
    if (!retried.ok()) return retried.status();
    LogInfo(kComponent, "campaign ", id, ": ", *retried,
            " failed applications retried from the console by ", principal.role);
    return nlohmann::json{{"retried", *retried}};
  }
  if (action == "retry-application") {
    absl::StatusOr<v1::Application> application = store_->RetryApplication(id, deadline);
    if (!application.ok()) return application.status();
    LogInfo(kComponent, "application ", id, " retried from the console by ", principal.role);
    return nlohmann::json{{"application", ApplicationJson(*application, principal.sees_user_ids)}};
  }
  return absl::NotFoundError(absl::StrCat("no action '", action, "'"));
}

}  // namespace campaignq::server::console
