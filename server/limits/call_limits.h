#pragma once
// The per-call limits of one server, in one object the handlers consult:
// the deadline cap, the token buckets (Apply, and every other call) and
// the watch slots. Built once from LimitOptions; thread-safe.
//
// Keys: until authentication lands, a caller is its peer's host (PeerKey);
// with it, pass the principal's name instead (one bucket and one set of
// watch slots per principal, wherever it connects from).

#include <grpcpp/server_context.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/limits/limit_options.h"
#include "server/limits/rate_limiter.h"
#include "server/limits/watch_slots.h"

namespace campaignq::server {

class CallLimits {
 public:
  explicit CallLimits(const LimitOptions& options, LimitsClock clock = absl::Now);
  CallLimits(const CallLimits&) = delete;
  CallLimits& operator=(const CallLimits&) = delete;

  // The deadline a call runs to: the client's, but at most
  // max_call_deadline from now (a call without a deadline gets the cap).
  // Pass it to the store (CampaignStore's deadline parameters).
  absl::Time CallDeadline(const grpc::ServerContextBase& context) const;
  absl::Time CapDeadline(absl::Time client_deadline) const;

  // OK, or RESOURCE_EXHAUSTED with RetryInfo when `key` has used its
  // tokens. `is_apply`: Apply has its own bucket (--apply-rate), every
  // other call shares --call-rate.
  // `tokens`: what the call costs (an ApplyBatch of N costs N).
  absl::Status Admit(bool is_apply, absl::string_view key, int tokens = 1);

  WatchSlots& watch_slots() { return watch_slots_; }
  const LimitOptions& options() const { return options_; }
  absl::Time Now() const { return clock_(); }

 private:
  const LimitOptions options_;
  const LimitsClock clock_;
  RateLimiter apply_rate_;
  RateLimiter call_rate_;
  WatchSlots watch_slots_;
};

// The caller's key before authentication: the peer's address without its
// port ("ipv4:10.0.0.7", "ipv6:[::1]"), since every new connection has a
// new port; "anonymous" when the peer is unknown (in-process channels).
std::string PeerKey(const grpc::ServerContextBase& context);

}  // namespace campaignq::server
