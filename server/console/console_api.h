#pragma once
// The console's JSON API under /api/, as plain functions of a request, so
// that tests call them without HTTP (console_server.h routes to them).
// Backed by store::CampaignStore, the same code as the gRPC service.
//
//   GET  /api/whoami                          {"role", "may_act", "sees_user_ids", "actions"}
//   GET  /api/overview                        ConsoleLive::BuildOverview's object
//   GET  /api/campaigns/{id}                  {"campaign": {...}, "counts": {...} | null,
//                                              "fill": [[time_ms, approved, waitlisted,
//                                              pending], ...], "actions": [...]}
//   GET  /api/campaigns/{id}/applications     ?status=pending|...&page_size=&page_token=
//                                             {"applications": [...], "next_page_token"}
//   GET  /api/failed                          ?campaign=&page_size=&page_token= (as above)
//   GET  /api/workers                         {"workers": [...], "gone_after_intervals"}
//   POST /api/campaigns/{id}/close            {"campaign": {...}}
//   POST /api/campaigns/{id}/pause|resume     {"campaign": {...}}
//   POST /api/campaigns/{id}/retry-failed     {"retried": n}
//   POST /api/applications/{id}/retry         {"application": {...}}
//   POST /api/failed/retry-all                {"retried": n, "skipped_closed_campaigns": k}
//
// Actions need a principal that may_act (admin); they are the store's
// operations, with its errors. Errors: {"error": message, "code":
// "NOT_FOUND"...} with 400 (invalid argument), 401, 403, 404, 409 (failed
// precondition, aborted, already exists), 429, 501, 503 (unavailable), 504
// (deadline exceeded), 500 (anything else). The message follows the gRPC
// side's one rule (server/client_message.h): never database text, whatever
// the code; a hidden one is logged. Applications carry "user_id" and
// "last_error" only for a principal that sees_user_ids.
//
// Every store call of a request runs to ConsoleApiOptions::call_deadline
// (the store turns it into statement_timeout), and the list pages
// (applications, failed, and the scan of retry-all) take a token of their
// principal's role's bucket first: a console, whoever opens it, holds a
// request-pool connection for a bounded time at a bounded rate.

#include <map>
#include <string>

#include "common/db/pool.h"
#include "common/store/campaign_store.h"
#include "server/console/console_auth.h"
#include "server/console/console_live.h"
#include "server/limits/rate_limiter.h"

namespace campaignq::server::console {

struct ApiRequest {
  std::string method;  // "GET" or "POST"
  std::string path;    // "/api/..."
  std::map<std::string, std::string> query;
  Principal principal;
};

struct ApiResponse {
  int http_status = 200;
  std::string body;  // JSON
};

struct ConsoleApiOptions {
  // A request's store calls end by then: 504 beyond (the same store
  // deadline as a gRPC call's, which --max-call-deadline caps at 30 s; a
  // page of a browser should not wait that long).
  absl::Duration call_deadline = absl::Seconds(5);
  // List pages per role: 5 a second, bursts of 20 (a person paging, or a
  // few tabs loading at once); 429 beyond.
  RateLimit list_rate = {5, 20};
};

class ConsoleApi {
 public:
  // Everything must outlive this.
  ConsoleApi(store::CampaignStore* store, db::ConnectionPool* workers_pool, ConsoleLive* live,
             ConsoleApiOptions options = {});

  ApiResponse Handle(const ApiRequest& request);

  // The response for an error status (used for auth failures too).
  static ApiResponse Error(const absl::Status& status);

 private:
  absl::StatusOr<nlohmann::json> Route(const ApiRequest& request, absl::Time deadline);
  absl::StatusOr<nlohmann::json> Campaign(int64_t campaign_id, const Principal& principal,
                                          absl::Time deadline);
  absl::StatusOr<nlohmann::json> Applications(int64_t campaign_id, const std::string& status,
                                              const ApiRequest& request, absl::Time deadline);
  absl::StatusOr<nlohmann::json> Workers();
  absl::StatusOr<nlohmann::json> RetryAllFailed(const Principal& principal, absl::Time deadline);
  absl::StatusOr<nlohmann::json> Act(const std::string& action, int64_t id,
                                     const Principal& principal, absl::Time deadline);
  absl::Status AdmitListPage(const Principal& principal);

  store::CampaignStore* const store_;
  db::ConnectionPool* const workers_pool_;
  ConsoleLive* const live_;
  const ConsoleApiOptions options_;
  RateLimiter list_rate_;
};

nlohmann::json CampaignJson(const v1::Campaign& campaign);
nlohmann::json ApplicationJson(const v1::Application& application, bool sees_user_ids);

}  // namespace campaignq::server::console
