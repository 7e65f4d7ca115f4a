#pragma once
// An in-memory CampaignQueue for client tests: no database, no processes.
// Applies are stored PENDING; each GetQueueStats call first decides up to
// `batch` pending applications. A lost reply can be switched on to check
// the verification kit's Apply-with-retry (tests/verify).

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "campaignq/v1/campaignq.grpc.pb.h"

namespace campaignq::client::testing {

struct FakeBehaviour {
  int batch = 25;
  bool lose_first_reply = false;  // store, then answer UNAVAILABLE (retries: ALREADY_EXISTS)
};

class FakeCampaignQueue final : public v1::CampaignQueue::Service {
 public:
  explicit FakeCampaignQueue(FakeBehaviour behaviour) : behaviour_(behaviour) {}

  grpc::Status CreateCampaign(grpc::ServerContext*, const v1::CreateCampaignRequest* request,
                              v1::Campaign* reply) override {
    std::lock_guard<std::mutex> lock(mu_);
    v1::Campaign c;
    c.set_id(static_cast<int64_t>(campaigns_.size()) + 1);
    c.set_name(request->name());
    if (request->has_max_participants()) c.set_max_participants(request->max_participants());
    c.set_waitlist(!request->has_waitlist() || request->waitlist());
    c.set_status(v1::CAMPAIGN_STATUS_OPEN);
    campaigns_[c.id()] = c;
    *reply = c;
    return grpc::Status::OK;
  }

  grpc::Status GetCampaign(grpc::ServerContext*, const v1::GetCampaignRequest* request,
                           v1::Campaign* reply) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = campaigns_.find(request->campaign_id());
    if (it == campaigns_.end()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no campaign");
    *reply = it->second;
    return grpc::Status::OK;
  }

  grpc::Status Apply(grpc::ServerContext*, const v1::ApplyRequest* request,
                     v1::Application* reply) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (campaigns_.count(request->campaign_id()) == 0) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no campaign");
    }
    auto key = std::make_pair(request->campaign_id(), request->user_id());
    if (auto it = users_.find(key); it != users_.end()) {
      // The service's message (common/store/apply_outcome.cc).
      return grpc::Status(grpc::StatusCode::ALREADY_EXISTS,
                          "user '" + request->user_id() + "' already applied to campaign " +
                              std::to_string(request->campaign_id()) + ": application " +
                              std::to_string(it->second) + " is pending");
    }
    v1::Application a;
    a.set_id(static_cast<int64_t>(apps_.size()) + 1);
    a.set_campaign_id(request->campaign_id());
    a.set_user_id(request->user_id());
    a.set_status(v1::APPLICATION_STATUS_PENDING);
    a.mutable_create_time()->set_seconds(1000 + a.id());
    apps_[a.id()] = a;
    users_[key] = a.id();
    if (behaviour_.lose_first_reply) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "reply lost");
    }
    *reply = a;
    return grpc::Status::OK;
  }

  grpc::Status GetApplication(grpc::ServerContext*, const v1::GetApplicationRequest* request,
                              v1::Application* reply) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = apps_.find(request->application_id());
    if (it == apps_.end()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no application");
    *reply = it->second;
    return grpc::Status::OK;
  }

  grpc::Status ListApplications(grpc::ServerContext*, const v1::ListApplicationsRequest* request,
                                v1::ListApplicationsResponse* reply) override {
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t after = request->page_token().empty() ? 0 : std::stoll(request->page_token());
    const int size = request->page_size() > 0 ? request->page_size() : 100;
    for (auto it = apps_.upper_bound(after); it != apps_.end(); ++it) {
      const v1::Application& a = it->second;
      if (request->campaign_id() != 0 && a.campaign_id() != request->campaign_id()) continue;
      if (request->status() != v1::APPLICATION_STATUS_UNSPECIFIED &&
          a.status() != request->status()) {
        continue;
      }
      if (reply->applications_size() == size) {
        reply->set_next_page_token(std::to_string(reply->applications(size - 1).id()));
        break;
      }
      *reply->add_applications() = a;
    }
    return grpc::Status::OK;
  }

  grpc::Status GetQueueStats(grpc::ServerContext*, const v1::GetQueueStatsRequest*,
                             v1::QueueStats* reply) override {
    std::lock_guard<std::mutex> lock(mu_);
    DecideBatch();
    for (const auto& [id, c] : campaigns_) {
      v1::CampaignQueueStats* s = reply->add_campaigns();
      s->set_campaign_id(id);
      s->set_approved_count(c.approved_count());
      for (const auto& [app_id, a] : apps_) {
        if (a.campaign_id() == id && a.status() == v1::APPLICATION_STATUS_PENDING) {
          s->set_pending(s->pending() + 1);
        }
      }
      reply->set_pending(reply->pending() + s->pending());
    }
    return grpc::Status::OK;
  }

 private:
  void DecideBatch() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::vector<int64_t> pending;
    for (const auto& [id, a] : apps_) {
      if (a.status() == v1::APPLICATION_STATUS_PENDING) pending.push_back(id);
    }
    if (pending.size() > static_cast<size_t>(behaviour_.batch)) pending.resize(behaviour_.batch);
    for (int64_t id : pending) {
      v1::Application& a = apps_[id];
      v1::Campaign& c = campaigns_[a.campaign_id()];
      const bool full = c.has_max_participants() && c.approved_count() >= c.max_participants();
      if (!full) {
        a.set_status(v1::APPLICATION_STATUS_APPROVED);
        c.set_approved_count(c.approved_count() + 1);
      } else if (c.waitlist()) {
        a.set_status(v1::APPLICATION_STATUS_WAITLISTED);
      } else {
        a.set_status(v1::APPLICATION_STATUS_REJECTED);
        a.set_reason(v1::REJECTION_REASON_CAMPAIGN_FULL);
      }
      a.mutable_decide_time()->set_seconds(2000 + id);
    }
  }

  const FakeBehaviour behaviour_;
  // std::mutex, not absl::Mutex: Debian's Abseil is not built with TSan, so
  // ThreadSanitizer (scripts/test-sanitized) cannot see absl::Mutex, but it
  // intercepts the pthread calls under std::mutex.
  std::mutex mu_;
  std::map<int64_t, v1::Campaign> campaigns_ ABSL_GUARDED_BY(mu_);
  std::map<int64_t, v1::Application> apps_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<int64_t, std::string>, int64_t> users_ ABSL_GUARDED_BY(mu_);  // -> id
};

// Runs a FakeCampaignQueue on a free local port for the test's lifetime.
class FakeServer {
 public:
  explicit FakeServer(FakeBehaviour behaviour = {}) : service_(behaviour) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
  }
  ~FakeServer() { server_->Shutdown(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  FakeCampaignQueue service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace campaignq::client::testing
