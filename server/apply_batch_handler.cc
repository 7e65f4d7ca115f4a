// CampaignQueueService::ApplyBatch: Apply for many users in one call,
// through the same group commit as Apply (CampaignStore::ApplyAsync), so
// that there is one insert path and one durability rule.

#include <atomic>
#include <memory>
#include <utility>
#include <vector>

#include "server/apply_batch.h"
#include "server/campaign_queue_service.h"
#include "server/status_mapping.h"

namespace campaignq::server {
namespace {

// The results of one ApplyBatch as its Applies are answered, on the
// batcher's threads, each slot by its own Apply's callback; the last one
// finishes the call.
struct PendingBatch {
  grpc::ServerUnaryReactor* reactor;
  grpc::ByteBuffer* response;
  security::Principal principal;
  std::vector<absl::StatusOr<v1::Application>> outcomes;
  std::atomic<int> unanswered;

  void Answer(size_t index, absl::StatusOr<v1::Application> outcome) {
    outcomes[index] = std::move(outcome);
    // acq_rel: the last decrement sees every other callback's slot.
    if (unanswered.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    v1::ApplyBatchResponse reply;
    reply.mutable_results()->Reserve(static_cast<int>(outcomes.size()));
    for (absl::StatusOr<v1::Application>& result : outcomes) {
      if (result.ok()) security::RedactApplication(principal, &*result);
      *reply.add_results() = BatchResult(std::move(result));
    }
    bool own_buffer;
    reactor->Finish(
        grpc::SerializationTraits<v1::ApplyBatchResponse>::Serialize(reply, response, &own_buffer));
  }
};

}  // namespace

grpc::ServerUnaryReactor* CampaignQueueService::ApplyBatch(grpc::CallbackServerContext* context,
                                                           const grpc::ByteBuffer* request_bytes,
                                                           grpc::ByteBuffer* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  v1::ApplyBatchRequest request;
  grpc::ByteBuffer bytes(*request_bytes);  // as Apply parses (see there)
  if (grpc::Status parsed =
          grpc::SerializationTraits<v1::ApplyBatchRequest>::Deserialize(&bytes, &request);
      !parsed.ok()) {
    reactor->Finish(parsed);
    return reactor;
  }
  absl::StatusOr<Call> call = Authorize(*context, security::Method::kApplyBatch);
  absl::Status admitted = call.status();
  // A malformed batch is refused before it costs tokens: its size may be
  // what is wrong with it.
  if (admitted.ok()) admitted = ValidateApplyBatch(request);
  if (admitted.ok()) {
    admitted = Admit(*call, security::Method::kApplyBatch, request.requests_size());
  }
  if (!admitted.ok()) {
    reactor->Finish(ToGrpcStatus(admitted));
    return reactor;
  }
  const int count = request.requests_size();
  auto pending = std::make_shared<PendingBatch>();
  pending->reactor = reactor;
  pending->response = response;
  pending->principal = call->principal;
  pending->outcomes.assign(count, absl::UnknownError("not answered"));
  pending->unanswered.store(count, std::memory_order_relaxed);
  // In request order, so that the queue (first come, first served) keeps
  // the batch's order. The caller's share of the queue bounds how much of
  // one batch waits: an Apply beyond it gets RESOURCE_EXHAUSTED as its
  // result, the rest are written.
  for (int i = 0; i < count; ++i) {
    v1::ApplyRequest* item = request.mutable_requests(i);
    store_->ApplyAsync(
        item->campaign_id(), std::move(*item->mutable_user_id()), call->deadline,
        [pending, index = static_cast<size_t>(i)](absl::StatusOr<v1::Application> outcome) {
          pending->Answer(index, std::move(outcome));
        },
        call->limits_key);
  }
  return reactor;
}

}  // namespace campaignq::server
