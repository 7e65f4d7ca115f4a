#include "common/metrics/http_exporter.h"

#include <httplib.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace campaignq::metrics {

HttpExporter::HttpExporter(Registry* registry) : registry_(registry) {}

HttpExporter::~HttpExporter() { Stop(); }

void HttpExporter::AddCheck(const std::string& path, std::function<absl::Status()> check) {
  checks_[path] = std::move(check);
}

absl::StatusOr<int> HttpExporter::Start(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  int port = -1;
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics address must be host:port, not '", listen, "'"));
  }
  const std::string host = listen.substr(0, colon);
  server_ = std::make_unique<httplib::Server>();
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& response) {
    response.set_content(registry_->Render(), "text/plain; version=0.0.4");
  });
  for (const auto& [path, check] : checks_) {
    server_->Get(path, [check = check](const httplib::Request&, httplib::Response& response) {
      const absl::Status status = check();
      response.status = status.ok() ? 200 : 503;
      response.set_content(status.ok() ? "ok\n" : absl::StrCat(status.message(), "\n"),
                           "text/plain");
    });
  }
  const int bound = port == 0                           ? server_->bind_to_any_port(host)
                    : server_->bind_to_port(host, port) ? port
                                                        : -1;
  if (bound <= 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen for metrics on ", listen));
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return bound;
}

void HttpExporter::Stop() {
  if (server_ != nullptr) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace campaignq::metrics
