#include "server/limits/call_limits.h"

#include <algorithm>
#include <chrono>

namespace campaignq::server {

CallLimits::CallLimits(const LimitOptions& options, LimitsClock clock)
    : options_(options),
      clock_(clock),
      apply_rate_(options.apply_rate, clock),
      call_rate_(options.call_rate, clock),
      watch_slots_(options.max_watches_per_key, options.max_watches_total) {}

absl::Time CallLimits::CapDeadline(absl::Time client_deadline) const {
  if (options_.max_call_deadline <= absl::ZeroDuration()) return client_deadline;
  return std::min(client_deadline, clock_() + options_.max_call_deadline);
}

absl::Time CallLimits::CallDeadline(const grpc::ServerContextBase& context) const {
  const auto deadline = context.deadline();
  const absl::Time client = deadline == std::chrono::system_clock::time_point::max()
                                ? absl::InfiniteFuture()
                                : absl::FromChrono(deadline);
  return CapDeadline(client);
}

absl::Status CallLimits::Admit(bool is_apply, absl::string_view key, int tokens) {
  return is_apply ? apply_rate_.Take(key, "Applies", tokens)
                  : call_rate_.Take(key, "calls", tokens);
}

std::string PeerKey(const grpc::ServerContextBase& context) {
  const std::string peer = context.peer();
  // "ipv4:1.2.3.4:5678", "ipv6:[::1]:5678": drop the port. Anything else
  // ("unix:...", in-process) is one caller.
  if (peer.rfind("ipv4:", 0) == 0 || peer.rfind("ipv6:", 0) == 0) {
    const size_t colon = peer.rfind(':');
    if (colon != std::string::npos && colon > 5) return peer.substr(0, colon);
  }
  return peer.empty() ? std::string("anonymous") : peer;
}

}  // namespace campaignq::server
