#include "server/limit_flags.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/flags.h"

CAMPAIGNQ_FLAG(int, max_receive_message_bytes, "CAMPAIGNQ_MAX_RECEIVE_MESSAGE_BYTES", 256 * 1024,
               "largest request message accepted, in bytes; larger ones are refused with "
               "RESOURCE_EXHAUSTED (an ApplyBatch of 1,000 128-character ASCII user ids is "
               "about 145 KiB; every other request is under 1 KiB)");
CAMPAIGNQ_FLAG(int, max_concurrent_streams, "CAMPAIGNQ_MAX_CONCURRENT_STREAMS", 100,
               "calls one client connection may have in flight at once (HTTP/2 streams)");
CAMPAIGNQ_FLAG(absl::Duration, min_client_ping_interval, "CAMPAIGNQ_MIN_CLIENT_PING_INTERVAL",
               absl::Seconds(30),
               "keepalive pings more frequent than this are strikes; after "
               "--max-ping-strikes the connection is closed (GOAWAY too_many_pings)");
CAMPAIGNQ_FLAG(int, max_ping_strikes, "CAMPAIGNQ_MAX_PING_STRIKES", 2,
               "keepalive pings more frequent than --min-client-ping-interval tolerated per "
               "connection before it is closed");
CAMPAIGNQ_FLAG(absl::Duration, max_connection_age, "CAMPAIGNQ_MAX_CONNECTION_AGE",
               absl::Minutes(30),
               "close client connections after this age (plus --max-connection-age-grace), so "
               "that clients reconnect and new replicas get traffic; 0: never");
CAMPAIGNQ_FLAG(absl::Duration, max_connection_age_grace, "CAMPAIGNQ_MAX_CONNECTION_AGE_GRACE",
               absl::Minutes(1),
               "how long calls in flight on a connection closed by --max-connection-age may "
               "take to finish");
CAMPAIGNQ_FLAG(absl::Duration, max_call_deadline, "CAMPAIGNQ_MAX_CALL_DEADLINE", absl::Seconds(30),
               "every call's deadline is at most this far away (a call without one gets it); "
               "its SQL runs with the time left as statement_timeout; 0: no cap");
CAMPAIGNQ_FLAG(absl::Duration, max_watch_duration, "CAMPAIGNQ_MAX_WATCH_DURATION",
               absl::Minutes(10),
               "a WatchApplication stream ends OK after this long, its last message the current "
               "state; watch again if it is not final");
CAMPAIGNQ_FLAG(int, max_watches_per_caller, "CAMPAIGNQ_MAX_WATCHES_PER_CALLER", 16,
               "open watches one caller may have; beyond: RESOURCE_EXHAUSTED with RetryInfo");
CAMPAIGNQ_FLAG(int, max_watches, "CAMPAIGNQ_MAX_WATCHES", 256,
               "open watches on this server; beyond: RESOURCE_EXHAUSTED with RetryInfo. Keep it "
               "well below --max-threads: each watch holds a handler thread");
CAMPAIGNQ_FLAG(int, max_reflection_streams_per_caller,
               "CAMPAIGNQ_MAX_REFLECTION_STREAMS_PER_CALLER", 4,
               "open server reflection streams one caller may have; beyond: "
               "RESOURCE_EXHAUSTED with RetryInfo");
CAMPAIGNQ_FLAG(int, max_reflection_streams, "CAMPAIGNQ_MAX_REFLECTION_STREAMS", 64,
               "open server reflection streams on this server; beyond: RESOURCE_EXHAUSTED with "
               "RetryInfo");
CAMPAIGNQ_FLAG(int, max_queued_applies, "CAMPAIGNQ_MAX_QUEUED_APPLIES", 10000,
               "Applies waiting to be written at most, one caller at most its share of them; "
               "beyond: RESOURCE_EXHAUSTED with RetryInfo, nothing stored");
CAMPAIGNQ_FLAG(absl::Duration, reflection_idle_timeout, "CAMPAIGNQ_REFLECTION_IDLE_TIMEOUT",
               absl::Minutes(1),
               "a server reflection stream that has waited this long for its next request is "
               "ended (UNAVAILABLE: open a new one)");
CAMPAIGNQ_FLAG(double, apply_rate, "CAMPAIGNQ_APPLY_RATE", 0,
               "Apply calls per second per caller (token bucket); beyond: RESOURCE_EXHAUSTED "
               "with RetryInfo; 0: unlimited");
CAMPAIGNQ_FLAG(int, apply_burst, "CAMPAIGNQ_APPLY_BURST", 0,
               "Apply calls a caller may make at once after being idle (bucket size; at least 1)");
CAMPAIGNQ_FLAG(double, call_rate, "CAMPAIGNQ_CALL_RATE", 0,
               "other campaignq calls per second per caller (token bucket); 0: unlimited");
CAMPAIGNQ_FLAG(int, call_burst, "CAMPAIGNQ_CALL_BURST", 0,
               "other calls a caller may make at once after being idle (at least 1)");

namespace campaignq::server {

absl::StatusOr<LimitOptions> ReadLimitFlags() {
  LimitOptions limits;
  limits.max_receive_message_bytes = absl::GetFlag(FLAGS_max_receive_message_bytes);
  limits.max_concurrent_streams = absl::GetFlag(FLAGS_max_concurrent_streams);
  limits.min_client_ping_interval = absl::GetFlag(FLAGS_min_client_ping_interval);
  limits.max_ping_strikes = absl::GetFlag(FLAGS_max_ping_strikes);
  limits.max_connection_age = absl::GetFlag(FLAGS_max_connection_age);
  limits.max_connection_age_grace = absl::GetFlag(FLAGS_max_connection_age_grace);
  limits.max_call_deadline = absl::GetFlag(FLAGS_max_call_deadline);
  limits.max_watch_duration = absl::GetFlag(FLAGS_max_watch_duration);
  limits.max_watches_per_key = absl::GetFlag(FLAGS_max_watches_per_caller);
  limits.max_watches_total = absl::GetFlag(FLAGS_max_watches);
  limits.max_reflection_streams_per_key = absl::GetFlag(FLAGS_max_reflection_streams_per_caller);
  limits.max_reflection_streams_total = absl::GetFlag(FLAGS_max_reflection_streams);
  limits.reflection_idle_timeout = absl::GetFlag(FLAGS_reflection_idle_timeout);
  limits.max_queued_applies = absl::GetFlag(FLAGS_max_queued_applies);
  limits.apply_rate = {absl::GetFlag(FLAGS_apply_rate), absl::GetFlag(FLAGS_apply_burst)};
  limits.call_rate = {absl::GetFlag(FLAGS_call_rate), absl::GetFlag(FLAGS_call_burst)};

  // A request below 1 KiB would refuse legitimate Applies (a 128-character
  // UTF-8 user id alone may take 512 bytes).
  if (limits.max_receive_message_bytes < 1024) {
    return absl::InvalidArgumentError("--max-receive-message-bytes must be >= 1024");
  }
  if (limits.max_concurrent_streams < 1) {
    return absl::InvalidArgumentError("--max-concurrent-streams must be >= 1");
  }
  if (limits.max_ping_strikes < 0) {
    return absl::InvalidArgumentError("--max-ping-strikes must not be negative");
  }
  for (const auto& [name, value] :
       {std::pair<const char*, absl::Duration>{"min-client-ping-interval",
                                               limits.min_client_ping_interval},
        {"max-connection-age", limits.max_connection_age},
        {"max-connection-age-grace", limits.max_connection_age_grace},
        {"max-call-deadline", limits.max_call_deadline}}) {
    if (value < absl::ZeroDuration()) {
      return absl::InvalidArgumentError(absl::StrCat("--", name, " must not be negative"));
    }
  }
  if (limits.max_watch_duration <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--max-watch-duration must be positive");
  }
  if (limits.max_watches_per_key < 1 || limits.max_watches_total < 1) {
    return absl::InvalidArgumentError("--max-watches-per-caller and --max-watches must be >= 1");
  }
  if (limits.max_reflection_streams_per_key < 1 || limits.max_reflection_streams_total < 1) {
    return absl::InvalidArgumentError(
        "--max-reflection-streams-per-caller and --max-reflection-streams must be >= 1");
  }
  if (limits.reflection_idle_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--reflection-idle-timeout must be positive");
  }
  if (limits.max_queued_applies < 1) {
    return absl::InvalidArgumentError("--max-queued-applies must be >= 1");
  }
  if (limits.apply_rate.per_second < 0 || limits.call_rate.per_second < 0 ||
      limits.apply_rate.burst < 0 || limits.call_rate.burst < 0) {
    return absl::InvalidArgumentError("rates and bursts must not be negative");
  }
  return limits;
}

}  // namespace campaignq::server
