#pragma once
// WatchApplication's loop: the current state at once, then every change
// (status or update_time), until the application is final.
//
// How a watch ends:
//   OK                 the application reached a final status (approved,
//                      rejected, cancelled, failed, released, expired); the
//                      last message sent is that final state. Approved can
//                      still be cancelled later, but a watcher waiting for
//                      "decided" is done. Waitlisted is not final: a seat
//                      may free up; nor is held: it ends approved, released
//                      or expired (docs/holds.md).
//   DEADLINE_EXCEEDED  the call's deadline passed first. Chosen over OK so
//                      that OK always means "the last message is final";
//                      the client sees DEADLINE_EXCEEDED from its own timer
//                      anyway, so OK at the deadline would be racy as well.
//   OK, not final      (with limits) the server's maximum watch duration
//                      (--max-watch-duration) passed first: the last
//                      message is the current state; watch again.
//   RESOURCE_EXHAUSTED (with limits) the caller's rate limit, or its or the
//                      server's open-watch cap: RetryInfo says when to try
//                      again.
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
#include <string>

#include "campaignq/v1/campaignq.pb.h"
#include "common/store/campaign_store.h"
#include "server/decision_listener.h"
#include "server/limits/call_limits.h"
#include "server/place_in_line.h"

namespace campaignq::server {

// Re-read at least this often even without a notification, so a lost
// notification or a listener reconnect delays a watcher by at most this.
inline constexpr std::chrono::milliseconds kWatchFallbackInterval{1000};

// A pending or waitlisted application's place (position, estimated_wait)
// changes with every decision of its campaign. A watch re-reads it (with
// ApplicationGetInLine, instead of the plain re-read) at most this often,
// and only when a notification says the campaign changed since its last
// place read, or kPlaceFallbackInterval passed; it sends a message only
// when something in it changed. So a watch's database work stays at most
// one read per kWatchFallbackInterval or notification, as before, and at
// most one place read a second, however fast the campaign decides.
inline constexpr std::chrono::milliseconds kPlaceRefreshInterval{1000};
inline constexpr std::chrono::milliseconds kPlaceFallbackInterval{10000};

bool IsFinalForWatch(v1::ApplicationStatus status);

// Whether a watch re-reads the place now, `since_place_read` after the last
// place read, `campaign_changed` whether a notification came since.
bool PlaceReadDue(std::chrono::steady_clock::duration since_place_read, bool campaign_changed);

// With `limits` (must outlive the call; nullptr: no caps, no maximum
// duration): the watch takes one of the caller's watch slots (keyed by
// `caller`: the principal's name, or PeerKey(*context) for anonymous
// callers; the caller's token bucket was charged when the call began), ends
// OK after limits->options().max_watch_duration, and each read's SQL is
// bounded by the call's deadline capped at max_call_deadline from the
// read's start.
// `estimator` (must outlive the call) estimates each message's wait.
grpc::Status WatchApplication(store::CampaignStore* store, const DecisionListener* listener,
                              WaitEstimator* estimator, grpc::ServerContext* context,
                              int64_t application_id,
                              grpc::ServerWriterInterface<v1::Application>* writer,
                              CallLimits* limits, const std::string& caller);

}  // namespace campaignq::server
