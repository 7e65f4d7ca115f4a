#pragma once
// campaignq.v1.CampaignQueue over the CampaignStore.
//
// Why the synchronous API: every handler makes blocking libpqxx calls (a
// round trip per statement, a connect or a pool wait when the database is
// slow). The sync API runs each call on a thread of gRPC's own pool, where
// blocking is expected; a callback handler would block the reactor thread
// that serves other calls. The cost is a thread per in-flight call, which
// includes every open WatchApplication stream; the server bounds that pool
// (see server_setup.h).
//
// Except Apply, the hot call (and ApplyBatch, its bulk form): it uses gRPC's callback API, and
// blocks no thread at all. Its handler queues the Apply with the store's batcher
// (CampaignStore::ApplyAsync) and returns; the batcher's writer thread
// finishes the call after the batch's COMMIT. It is a raw method (bytes
// in, bytes out) only so that a request that does not parse is answered as
// the sync handlers answer it (INTERNAL without a message, which
// unparsable_request.h turns into INVALID_ARGUMENT): the typed callback
// handler would answer UNIMPLEMENTED.
//
// Handlers only translate: the store validates, runs the transaction and
// picks the status code; ToGrpcStatus maps it. The store reports every
// database failure as a status, so no handler throws.
//
// Every handler starts with Begin(context, method): authentication and the
// authorization table (security/authorizer.h: UNAUTHENTICATED,
// PERMISSION_DENIED), then the caller's token bucket (limits/call_limits.h:
// RESOURCE_EXHAUSTED with RetryInfo), keyed by the principal's name (by
// peer address for anonymous callers), and the call's capped deadline,
// which every store call gets. Then it keeps an applicant to its own user
// id (another user's application is NOT_FOUND, as if it did not exist) and
// redacts what the role may not see (security/authorization.h).

#include <grpcpp/grpcpp.h>

#include "campaignq/v1/campaignq.grpc.pb.h"
#include "common/store/campaign_store.h"
#include "server/decision_listener.h"
#include "server/limits/call_limits.h"
#include "server/place_in_line.h"
#include "server/security/authorizer.h"

namespace campaignq::server {

class CampaignQueueService final
    : public v1::CampaignQueue::WithRawCallbackMethod_ApplyBatch<
          v1::CampaignQueue::WithRawCallbackMethod_Apply<v1::CampaignQueue::Service>> {
 public:
  // All must outlive the service.
  CampaignQueueService(store::CampaignStore* store, const DecisionListener* listener,
                       const security::Authorizer* authorizer, CallLimits* limits)
      : store_(store), listener_(listener), authorizer_(authorizer), limits_(limits) {}

  grpc::Status CreateCampaign(grpc::ServerContext* context,
                              const v1::CreateCampaignRequest* request,
                              v1::Campaign* response) override;
  grpc::Status GetCampaign(grpc::ServerContext* context, const v1::GetCampaignRequest* request,
                           v1::Campaign* response) override;
  grpc::Status ListCampaigns(grpc::ServerContext* context, const v1::ListCampaignsRequest* request,
                             v1::ListCampaignsResponse* response) override;
  grpc::Status CloseCampaign(grpc::ServerContext* context, const v1::CloseCampaignRequest* request,
                             v1::Campaign* response) override;
  // A serialized v1::ApplyRequest in, a serialized v1::Application out.
  grpc::ServerUnaryReactor* Apply(grpc::CallbackServerContext* context,
                                  const grpc::ByteBuffer* request,
                                  grpc::ByteBuffer* response) override;
  grpc::Status GetApplication(grpc::ServerContext* context,
                              const v1::GetApplicationRequest* request,
                              v1::Application* response) override;
  grpc::Status ListApplications(grpc::ServerContext* context,
                                const v1::ListApplicationsRequest* request,
                                v1::ListApplicationsResponse* response) override;
  grpc::Status CancelApplication(grpc::ServerContext* context,
                                 const v1::CancelApplicationRequest* request,
                                 v1::Application* response) override;
  grpc::Status ConfirmApplication(grpc::ServerContext* context,
                                  const v1::ConfirmApplicationRequest* request,
                                  v1::Application* response) override;
  grpc::Status ReleaseApplication(grpc::ServerContext* context,
                                  const v1::ReleaseApplicationRequest* request,
                                  v1::Application* response) override;
  grpc::Status WatchApplication(grpc::ServerContext* context,
                                const v1::WatchApplicationRequest* request,
                                grpc::ServerWriter<v1::Application>* writer) override;
  grpc::Status GetQueueStats(grpc::ServerContext* context, const v1::GetQueueStatsRequest* request,
                             v1::QueueStats* response) override;
  grpc::Status PauseCampaign(grpc::ServerContext* context, const v1::PauseCampaignRequest* request,
                             v1::Campaign* response) override;
  grpc::Status ResumeCampaign(grpc::ServerContext* context,
                              const v1::ResumeCampaignRequest* request,
                              v1::Campaign* response) override;
  grpc::Status DeleteCampaign(grpc::ServerContext* context,
                              const v1::DeleteCampaignRequest* request,
                              v1::DeleteCampaignResponse* response) override;
  grpc::Status RetryApplication(grpc::ServerContext* context,
                                const v1::RetryApplicationRequest* request,
                                v1::Application* response) override;
  grpc::Status RetryFailedApplications(grpc::ServerContext* context,
                                       const v1::RetryFailedApplicationsRequest* request,
                                       v1::RetryFailedApplicationsResponse* response) override;
  // A serialized v1::ApplyBatchRequest in, a serialized v1::ApplyBatchResponse
  // out (apply_batch_handler.cc): its Applies go through ApplyAsync, the
  // same group commit as Apply's, and the call finishes once every one is
  // answered.
  grpc::ServerUnaryReactor* ApplyBatch(grpc::CallbackServerContext* context,
                                       const grpc::ByteBuffer* request,
                                       grpc::ByteBuffer* response) override;

 private:
  // What a handler knows once a call is let in.
  struct Call {
    security::Principal principal;
    // The key of the caller's rate and watch limits.
    std::string limits_key;
    // The client's deadline, capped by --max-call-deadline.
    absl::Time deadline;
  };
  // Authenticates, authorizes `method` and takes a token from the caller's
  // bucket; the status to return as is otherwise.
  absl::StatusOr<Call> Begin(const grpc::ServerContextBase& context, security::Method method);
  // Begin in two steps, for ApplyBatch, whose cost is known only once the
  // request is validated: Authorize, then Admit with `tokens` of the Apply
  // bucket.
  absl::StatusOr<Call> Authorize(const grpc::ServerContextBase& context, security::Method method);
  absl::Status Admit(const Call& call, security::Method method, int tokens);
  // The application `application_id` if `principal` may act on it; another
  // user's is NOT_FOUND exactly like a missing one.
  absl::StatusOr<v1::Application> OwnApplication(const Call& call, int64_t application_id);
  // Cancel, Confirm and Release: OwnApplication's check, then
  // act(application_id, deadline), the store's call, redacted for the role.
  template <typename Act>
  grpc::Status ActOnOwnApplication(const Call& call, int64_t application_id, Act act,
                                   v1::Application* response);

  store::CampaignStore* store_;
  const DecisionListener* listener_;
  const security::Authorizer* authorizer_;
  CallLimits* limits_;
  // The campaigns' recent progress, for Application.estimated_wait.
  WaitEstimator wait_estimator_;
};

}  // namespace campaignq::server
