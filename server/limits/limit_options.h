#pragma once
// The server's limits, one field per flag (server/server_flags.cc; the
// flags, their environment variables and why each default is what it is:
// docs/limits.md). Plain values: server_setup.cc turns the transport ones
// into channel arguments, CallLimits (call_limits.h) enforces the rest.

#include "absl/time/time.h"

namespace campaignq::server {

struct RateLimit {
  // Sustained calls per second per key; 0 = unlimited.
  double per_second = 0;
  // Calls a key may make at once after being idle (the bucket's size);
  // < 1 is treated as 1 when per_second > 0.
  int burst = 0;
};

struct LimitOptions {
  // --- transport (channel arguments) ---
  // Largest request message accepted; larger: RESOURCE_EXHAUSTED. gRPC
  // has no per-method limit, so the largest legitimate request sets it: an
  // ApplyBatch of 1,000 ASCII user ids of 128 characters, about 145 KiB
  // (docs/limits.md). Every other request is under 1 KiB.
  int max_receive_message_bytes = 256 * 1024;
  // HTTP/2 streams (calls) one connection may have open at once.
  int max_concurrent_streams = 100;
  // Keepalive pings from a client more often than this (with no call in
  // flight, at all) count as strikes; after max_ping_strikes the server
  // closes the connection (GOAWAY too_many_pings).
  absl::Duration min_client_ping_interval = absl::Seconds(30);
  int max_ping_strikes = 2;
  // A connection is closed (GOAWAY) after this age, plus a grace for its
  // calls in flight, so that clients reconnect and new servers behind a
  // load balancer get their share. Watches end with it, as UNAVAILABLE:
  // watch again. 0 = forever.
  absl::Duration max_connection_age = absl::Minutes(30);
  absl::Duration max_connection_age_grace = absl::Minutes(1);

  // --- calls ---
  // Every call's deadline is at most this far away (a call without a
  // deadline gets it); its SQL runs with the time left as statement_timeout.
  absl::Duration max_call_deadline = absl::Seconds(30);
  // A WatchApplication stream ends OK, its last message the latest state,
  // after this long; the caller watches again if that state is not final.
  absl::Duration max_watch_duration = absl::Minutes(10);
  // Open watches per key (principal) and in total: RESOURCE_EXHAUSTED
  // beyond. The total stays well below --max-threads (a watch holds a
  // handler thread) so that other calls always find one.
  int max_watches_per_key = 16;
  int max_watches_total = 256;
  // Open server reflection streams per key and in total, and how long one
  // may wait for its next request (reflection_service.h; such a stream
  // holds no handler thread, but memory).
  int max_reflection_streams_per_key = 4;
  int max_reflection_streams_total = 64;
  absl::Duration reflection_idle_timeout = absl::Minutes(1);
  // Applies waiting in the group-commit queue at most, one caller at most
  // its share of them (ApplyBatcher::Options::max_queued).
  int max_queued_applies = 10000;
  // Token buckets per key: Apply, and every other campaignq.v1 call.
  RateLimit apply_rate = {0, 0};
  RateLimit call_rate = {0, 0};
};

}  // namespace campaignq::server
