#pragma once
// An in-memory CampaignQueue for client tests: no database, no processes.
// Applies are stored PENDING; each GetQueueStats call first decides up to
// `batch` pending applications. A lost reply can be switched on to check
// the verification kit's Apply-with-retry (tests/verify) and
// create-campaign's retry with its request id. The operator RPCs (close,
// pause, resume, delete, retry) follow campaignq.proto's contract;
// WatchApplication sends the current state once and ends OK, as the
// server's maximum watch duration does. SetStatus puts an application into
// any state (e.g. FAILED, which nothing else here produces).

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
  bool lose_first_reply = false;         // store, then answer UNAVAILABLE (retries: ALREADY_EXISTS)
  bool lose_first_create_reply = false;  // CreateCampaign: store, then answer UNAVAILABLE
};

class FakeCampaignQueue final : public v1::CampaignQueue::Service {
 public:
  explicit FakeCampaignQueue(FakeBehaviour behaviour) : behaviour_(behaviour) {}

  grpc::Status CreateCampaign(grpc::ServerContext*, const v1::CreateCampaignRequest* request,
                              v1::Campaign* reply) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++create_calls_;
    if (!request->request_id().empty()) {
      if (auto it = request_ids_.find(request->request_id()); it != request_ids_.end()) {
        if (it->second.second != request->SerializeAsString()) {
          return grpc::Status(grpc::StatusCode::ALREADY_EXISTS, "request_id used for another");
        }
        *reply = campaigns_[it->second.first];
        return grpc::Status::OK;
      }
    }
    v1::Campaign c;
    c.set_id(static_cast<int64_t>(campaigns_.size()) + 1);
    c.set_name(request->name());
    if (request->has_max_participants()) c.set_max_participants(request->max_participants());
    c.set_waitlist(!request->has_waitlist() || request->waitlist());
    c.set_status(v1::CAMPAIGN_STATUS_OPEN);
    if (request->has_opens_at()) *c.mutable_opens_at() = request->opens_at();
    if (request->has_closes_at()) *c.mutable_closes_at() = request->closes_at();
    if (request->has_hold_duration()) *c.mutable_hold_duration() = request->hold_duration();
    if (request->has_max_active_holds()) c.set_max_active_holds(request->max_active_holds());
    campaigns_[c.id()] = c;
    if (!request->request_id().empty()) {
      request_ids_[request->request_id()] = {c.id(), request->SerializeAsString()};
    }
    if (behaviour_.lose_first_create_reply && create_calls_ == 1) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "reply lost");
    }
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

  grpc::Status ListCampaigns(grpc::ServerContext*, const v1::ListCampaignsRequest* request,
                             v1::ListCampaignsResponse* reply) override {
    std::lock_guard<std::mutex> lock(mu_);
    Page(campaigns_, request->page_token(), request->page_size(), reply->mutable_campaigns(),
         reply->mutable_next_page_token(), [](const v1::Campaign&) { return true; });
    return grpc::Status::OK;
  }

  grpc::Status CloseCampaign(grpc::ServerContext*, const v1::CloseCampaignRequest* request,
                             v1::Campaign* reply) override {
    return UpdateCampaign(request->campaign_id(), reply, [this](v1::Campaign& c) {
      c.set_status(v1::CAMPAIGN_STATUS_CLOSED);
      for (auto& [id, a] : apps_) {
        if (a.campaign_id() == c.id() && (a.status() == v1::APPLICATION_STATUS_PENDING ||
                                          a.status() == v1::APPLICATION_STATUS_WAITLISTED)) {
          a.set_status(v1::APPLICATION_STATUS_REJECTED);
          a.set_reason(v1::REJECTION_REASON_CAMPAIGN_CLOSED);
        }
      }
      return grpc::Status::OK;
    });
  }

  grpc::Status PauseCampaign(grpc::ServerContext*, const v1::PauseCampaignRequest* request,
                             v1::Campaign* reply) override {
    return UpdateCampaign(request->campaign_id(), reply, [](v1::Campaign& c) {
      if (c.status() == v1::CAMPAIGN_STATUS_CLOSED) {
        return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "campaign is closed");
      }
      c.set_paused(true);
      return grpc::Status::OK;
    });
  }

  grpc::Status ResumeCampaign(grpc::ServerContext*, const v1::ResumeCampaignRequest* request,
                              v1::Campaign* reply) override {
    return UpdateCampaign(request->campaign_id(), reply, [](v1::Campaign& c) {
      c.set_paused(false);
      return grpc::Status::OK;
    });
  }

  grpc::Status DeleteCampaign(grpc::ServerContext*, const v1::DeleteCampaignRequest* request,
                              v1::DeleteCampaignResponse* reply) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = campaigns_.find(request->campaign_id());
    if (it == campaigns_.end()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no campaign");
    if (it->second.status() != v1::CAMPAIGN_STATUS_CLOSED) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "campaign is open: close it first [request_id=00000000000000aa]");
    }
    for (auto a = apps_.begin(); a != apps_.end();) {
      if (a->second.campaign_id() == request->campaign_id()) {
        users_.erase({a->second.campaign_id(), a->second.user_id()});
        a = apps_.erase(a);
        reply->set_deleted_applications(reply->deleted_applications() + 1);
      } else {
        ++a;
      }
    }
    campaigns_.erase(it);
    return grpc::Status::OK;
  }

  grpc::Status RetryApplication(grpc::ServerContext*, const v1::RetryApplicationRequest* request,
                                v1::Application* reply) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = apps_.find(request->application_id());
    if (it == apps_.end()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no application");
    if (it->second.status() != v1::APPLICATION_STATUS_FAILED) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "application is not failed");
    }
    Retry(it->second);
    *reply = it->second;
    return grpc::Status::OK;
  }

  grpc::Status RetryFailedApplications(grpc::ServerContext*,
                                       const v1::RetryFailedApplicationsRequest* request,
                                       v1::RetryFailedApplicationsResponse* reply) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (campaigns_.count(request->campaign_id()) == 0) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no campaign");
    }
    for (auto& [id, a] : apps_) {
      if (a.campaign_id() == request->campaign_id() &&
          a.status() == v1::APPLICATION_STATUS_FAILED) {
        Retry(a);
        reply->set_retried(reply->retried() + 1);
      }
    }
    return grpc::Status::OK;
  }

  // HELD -> APPROVED (confirm) or RELEASED (release); the target status
  // already: as is; anything else FAILED_PRECONDITION, as the service.
  grpc::Status ConfirmApplication(grpc::ServerContext*,
                                  const v1::ConfirmApplicationRequest* request,
                                  v1::Application* reply) override {
    return EndHold(request->application_id(), v1::APPLICATION_STATUS_APPROVED, reply);
  }
  grpc::Status ReleaseApplication(grpc::ServerContext*,
                                  const v1::ReleaseApplicationRequest* request,
                                  v1::Application* reply) override {
    return EndHold(request->application_id(), v1::APPLICATION_STATUS_RELEASED, reply);
  }

  grpc::Status WatchApplication(grpc::ServerContext*, const v1::WatchApplicationRequest* request,
                                grpc::ServerWriter<v1::Application>* writer) override {
    v1::Application current;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = apps_.find(request->application_id());
      if (it == apps_.end()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no application");
      current = it->second;
    }
    writer->Write(current);
    return grpc::Status::OK;
  }

  // Test control: puts application `id` into `status` (FAILED: with a
  // last_error).
  void SetStatus(int64_t id, v1::ApplicationStatus status) {
    std::lock_guard<std::mutex> lock(mu_);
    v1::Application& a = apps_[id];
    a.set_status(status);
    if (status == v1::APPLICATION_STATUS_FAILED) a.set_last_error("x");
    if (status == v1::APPLICATION_STATUS_HELD) a.mutable_hold_expires_at()->set_seconds(3000 + id);
  }

  int64_t campaign_count() {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int64_t>(campaigns_.size());
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
    Page(apps_, request->page_token(), request->page_size(), reply->mutable_applications(),
         reply->mutable_next_page_token(), [&](const v1::Application& a) {
           return (request->campaign_id() == 0 || a.campaign_id() == request->campaign_id()) &&
                  (request->status() == v1::APPLICATION_STATUS_UNSPECIFIED ||
                   a.status() == request->status());
         });
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
  // One page of `rows` (id order) after the token's id, of the requested
  // size (0: 100), keeping those `keep` accepts; the token is the last id.
  template <typename Row, typename Keep>
  static void Page(const std::map<int64_t, Row>& rows, const std::string& token, int32_t page_size,
                   google::protobuf::RepeatedPtrField<Row>* out, std::string* next, Keep keep) {
    const int64_t after = token.empty() ? 0 : std::stoll(token);
    const int size = page_size > 0 ? page_size : 100;
    for (auto it = rows.upper_bound(after); it != rows.end(); ++it) {
      if (!keep(it->second)) continue;
      if (out->size() == size) {
        *next = std::to_string((*out)[size - 1].id());
        break;
      }
      *out->Add() = it->second;
    }
  }

  template <typename Update>
  grpc::Status UpdateCampaign(int64_t id, v1::Campaign* reply, Update update) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = campaigns_.find(id);
    if (it == campaigns_.end()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no campaign");
    grpc::Status status = update(it->second);
    if (status.ok()) *reply = it->second;
    return status;
  }

  grpc::Status EndHold(int64_t id, v1::ApplicationStatus to, v1::Application* reply) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = apps_.find(id);
    if (it == apps_.end()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no application");
    v1::Application& a = it->second;
    if (a.status() == v1::APPLICATION_STATUS_HELD) {
      a.set_status(to);
      a.clear_hold_expires_at();
    } else if (a.status() != to) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "application is not held");
    }
    *reply = a;
    return grpc::Status::OK;
  }

  static void Retry(v1::Application& a) {
    a.set_status(v1::APPLICATION_STATUS_PENDING);
    a.set_attempts(0);
    a.clear_last_error();
    a.clear_decide_time();
  }

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
  // request_id -> (campaign id, the request it created it with)
  std::map<std::string, std::pair<int64_t, std::string>> request_ids_ ABSL_GUARDED_BY(mu_);
  int create_calls_ ABSL_GUARDED_BY(mu_) = 0;
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
  FakeCampaignQueue& service() { return service_; }

 private:
  FakeCampaignQueue service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace campaignq::client::testing
