#include "server/console/console_server.h"

#include <httplib.h>

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "server/console/console_api.h"
#include "server/console/console_assets.h"

namespace campaignq::server::console {
namespace {

constexpr char kComponent[] = "console";
// An event stream sends a comment this often when nothing changes, so that
// proxies keep it open and a closed tab is noticed.
constexpr std::chrono::seconds kKeepAlive{15};

// Pages, scripts and styles come from this server only; nothing is
// fetched from anywhere else, nothing may frame the console.
constexpr char kContentSecurityPolicy[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

void SetCommonHeaders(httplib::Response& response) {
  response.set_header("Content-Security-Policy", kContentSecurityPolicy);
  response.set_header("X-Content-Type-Options", "nosniff");
  response.set_header("Referrer-Policy", "no-referrer");
  response.set_header("Cache-Control", "no-store");
}

void Send(httplib::Response& response, const ApiResponse& api) {
  response.status = api.http_status;
  response.set_content(api.body, "application/json; charset=utf-8");
}

}  // namespace

const Asset* FindAsset(const std::string& path) {
  const std::string wanted = path == "/" ? "/index.html" : path;
  for (const Asset& asset : EmbeddedAssets()) {
    if (wanted == asset.path) return &asset;
  }
  return nullptr;
}

ConsoleServer::ConsoleServer(ConsoleServerOptions options)
    : options_(std::move(options)),
      live_(std::make_unique<ConsoleLive>(options_.store, options_.pool, options_.listener,
                                          options_.live)),
      api_(std::make_unique<ConsoleApi>(options_.store, options_.pool, live_.get(), options_.api)) {
}

ConsoleServer::~ConsoleServer() { Stop(); }

absl::StatusOr<int> ConsoleServer::Start(const std::string& listen) {
  if (started_) return absl::FailedPreconditionError("the console was started before");
  if (absl::Status ok = CheckConsoleListen(listen, static_cast<bool>(options_.authorizer));
      !ok.ok()) {
    return ok;
  }
  started_ = true;
  const size_t colon = listen.rfind(':');
  const int port = std::stoi(listen.substr(colon + 1));
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  http_ = std::make_unique<httplib::Server>();
  // Event streams each hold a thread for as long as they are open.
  const int threads = options_.max_streams + 8;
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  Route();
  const int bound = port == 0                         ? http_->bind_to_any_port(host)
                    : http_->bind_to_port(host, port) ? port
                                                      : -1;
  if (bound <= 0) {
    http_.reset();
    return absl::UnavailableError(absl::StrCat("cannot listen for the console on ", listen));
  }
  live_->Start();
  thread_ = std::thread([this] { http_->listen_after_bind(); });
  if (!options_.authorizer) {
    LogWarning(kComponent, "no authentication: the console on ", listen,
               " serves loopback only and lets every caller act as admin");
  }
  return bound;
}

void ConsoleServer::Stop() {
  live_->Stop();  // ends every event stream
  if (http_ != nullptr) http_->stop();
  if (thread_.joinable()) thread_.join();
}

void ConsoleServer::Route() {
  const bool has_authorizer = static_cast<bool>(options_.authorizer);
  // Origin/Host checks, then the principal; on failure the response is set.
  auto admit = [this, has_authorizer](const httplib::Request& request,
                                      httplib::Response& response) -> absl::StatusOr<Principal> {
    SetCommonHeaders(response);
    const std::string authorization = request.get_header_value("Authorization");
    if (absl::Status origin = CheckRequestOrigin(has_authorizer, request.method == "POST",
                                                 authorization, request.get_header_value("Host"),
                                                 request.get_header_value("Origin"));
        !origin.ok()) {
      Send(response, ConsoleApi::Error(origin));
      return origin;
    }
    absl::StatusOr<Principal> principal = Authenticate(options_.authorizer, authorization);
    if (!principal.ok()) Send(response, ConsoleApi::Error(principal.status()));
    return principal;
  };

  http_->Get(
      "/api/events", [this, admit](const httplib::Request& request, httplib::Response& response) {
        if (!admit(request, response).ok()) return;
        if (streams_.fetch_add(1) >= options_.max_streams) {
          streams_.fetch_sub(1);
          Send(response, ConsoleApi::Error(absl::UnavailableError("too many open event streams")));
          return;
        }
        auto viewer = std::make_shared<ConsoleLive::Viewer>(live_.get());
        auto seen = std::make_shared<uint64_t>(0);
        response.set_header("X-Accel-Buffering", "no");
        response.set_chunked_content_provider(
            "text/event-stream",
            [this, viewer, seen](size_t /*offset*/, httplib::DataSink& sink) {
              const ConsoleLive::Snapshot snapshot =
                  live_->WaitNewer(*seen, std::chrono::steady_clock::now() + kKeepAlive);
              if (snapshot.stopped) {
                sink.done();
                return false;
              }
              std::string event;
              if (snapshot.seq > *seen) {
                *seen = snapshot.seq;
                event = absl::StrCat("id: ", snapshot.seq,
                                     "\nevent: overview\ndata: ", snapshot.json, "\n\n");
              } else {
                event = ": keep-alive\n\n";
              }
              return sink.write(event.data(), event.size());
            },
            [this](bool /*success*/) { streams_.fetch_sub(1); });
      });

  auto api = [this, admit](const httplib::Request& request, httplib::Response& response) {
    absl::StatusOr<Principal> principal = admit(request, response);
    if (!principal.ok()) return;
    ApiRequest api_request;
    api_request.method = request.method;
    api_request.path = request.path;
    for (const auto& [key, value] : request.params) api_request.query[key] = value;
    api_request.principal = *principal;
    Send(response, api_->Handle(api_request));
  };
  http_->Get(R"(/api/.*)", api);
  http_->Post(R"(/api/.*)", api);

  http_->Get(
      R"(/.*)", [has_authorizer](const httplib::Request& request, httplib::Response& response) {
        SetCommonHeaders(response);
        if (absl::Status origin =
                CheckRequestOrigin(has_authorizer, false, "", request.get_header_value("Host"), "");
            !origin.ok()) {
          response.status = 403;
          response.set_content(std::string(origin.message()), "text/plain; charset=utf-8");
          return;
        }
        const Asset* asset = FindAsset(request.path);
        if (asset == nullptr) {
          response.status = 404;
          response.set_content("not found", "text/plain; charset=utf-8");
          return;
        }
        response.set_content(asset->body, asset->content_type);
      });
}

}  // namespace campaignq::server::console
