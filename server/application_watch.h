#pragma once
// WatchApplication's loop: the current state at once, then every change
// (status or update_time), until the application is final.
//
// How a watch ends:
//   OK                 the application reached a final status (approved,
//                      rejected, cancelled, failed); the last message sent
//                      is that final state. Approved can still be cancelled
//                      later, but a watcher waiting for "decided" is done.
//                      Waitlisted is not final: a seat may free up.
//   DEADLINE_EXCEEDED  the call's deadline passed first. Chosen over OK so
//                      that OK always means "the last message is final";
//                      the client sees DEADLINE_EXCEEDED from its own timer
//                      anyway, so OK at the deadline would be racy as well.
//   CANCELLED          the client went away.
//   UNAVAILABLE        the server is shutting down: watch again elsewhere.
//   other              the first read failed (NOT_FOUND, INVALID_ARGUMENT,
//                      UNAVAILABLE...), or a later read failed with a
//                      non-transient error. Transient read errors (database
//                      restarting) are retried on the next wake-up instead.

#include <grpcpp/server_context.h>
#include <grpcpp/support/sync_stream.h>

#include <chrono>
#include <cstdint>

#include "campaignq/v1/campaignq.pb.h"
#include "common/store/campaign_store.h"
#include "server/decision_listener.h"

namespace campaignq::server {

// Re-read at least this often even without a notification, so a lost
// notification or a listener reconnect delays a watcher by at most this.
inline constexpr std::chrono::milliseconds kWatchFallbackInterval{1000};

bool IsFinalForWatch(v1::ApplicationStatus status);

grpc::Status WatchApplication(store::CampaignStore* store, const DecisionListener* listener,
                              grpc::ServerContext* context, int64_t application_id,
                              grpc::ServerWriterInterface<v1::Application>* writer);

}  // namespace campaignq::server
