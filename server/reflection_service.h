#pragma once
// Server reflection (grpc.reflection.v1alpha: what grpcurl speaks), served
// on gRPC's callback API instead of through gRPC's own plugin.
//
// Why not gRPC's: its reflection service is synchronous, and a stream holds
// a --max-threads handler thread for as long as the client keeps it open,
// requests or not. 16 idle streams left a --max-threads=8 server answering
// every other call RESOURCE_EXHAUSTED while health stayed SERVING, and
// without a token the old guard only blanked the replies, so anyone who
// could connect could do it. Here a stream holds no thread between
// requests (an answer is a lookup in the generated descriptor pool: nothing
// blocks), and streams are bounded anyway, since each still holds memory:
//  - with authentication configured, a stream without a valid principal
//    ends UNAUTHENTICATED as it opens (reflection lists every method and
//    message, not for anonymous callers);
//  - a caller (principal; peer address when anonymous) may have
//    max_streams_per_key open, the server max_streams_total: beyond,
//    RESOURCE_EXHAUSTED at once (ErrorInfo TOO_MANY_REFLECTION_STREAMS or
//    SERVER_REFLECTION_STREAMS_FULL, RetryInfo 5 s);
//  - a stream that has waited idle_timeout for its next request ends
//    UNAVAILABLE (open a new one), so that idle streams do not keep those
//    slots;
//  - Drain() ends the idle ones at once and every other after its answer
//    (UNAVAILABLE), so that they do not hold the server's shutdown grace.
// The health service stays gRPC's own, open to probes without a token; it
// is a callback service too (docs/limits.md, "Threads").

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "server/limits/watch_slots.h"
#include "server/security/authorizer.h"

namespace campaignq::server {

struct ReflectionOptions {
  // Values < 1: no limit of that kind.
  int max_streams_per_key = 4;
  int max_streams_total = 64;
  // <= 0: streams are never ended for being idle.
  absl::Duration idle_timeout = absl::Minutes(1);
};

// The answer to one request from `pool` (no I/O), as gRPC's own reflection
// service gives it: a file with every dependency it has, the service
// names, extension numbers, or an error_response (NOT_FOUND for an unknown
// file, symbol or type; UNIMPLEMENTED for an unknown request kind), with
// valid_host and original_request echoed.
grpc::reflection::v1alpha::ServerReflectionResponse AnswerReflection(
    const grpc::reflection::v1alpha::ServerReflectionRequest& request,
    const std::vector<std::string>& services, const google::protobuf::DescriptorPool& pool);

// How often the sweeper looks for idle streams: a stream ends between
// `idle_timeout` and `idle_timeout` + this after its last request.
std::chrono::steady_clock::duration ReflectionSweepInterval(absl::Duration idle_timeout);

class ReflectionService final
    : public grpc::reflection::v1alpha::ServerReflection::CallbackService {
 public:
  // `services`: the names list_services answers. `authorizer` (nullptr:
  // none, every caller anonymous) must outlive this. Register it with the
  // server, and destroy it only after the server (its streams end first).
  ReflectionService(std::vector<std::string> services, const security::Authorizer* authorizer,
                    ReflectionOptions options);
  ReflectionService(const ReflectionService&) = delete;
  ReflectionService& operator=(const ReflectionService&) = delete;
  ~ReflectionService() override;  // ends the idle sweeper

  grpc::ServerBidiReactor<grpc::reflection::v1alpha::ServerReflectionRequest,
                          grpc::reflection::v1alpha::ServerReflectionResponse>*
  ServerReflectionInfo(grpc::CallbackServerContext* context) override;

  // From now on new streams are refused and open ones end (UNAVAILABLE:
  // reconnect), idle ones at once, the others once their answer is sent.
  void Drain();

 private:
  class Stream;

  // The caller's key (principal name; peer address when anonymous), or
  // UNAUTHENTICATED.
  absl::StatusOr<std::string> CallerKey(const grpc::CallbackServerContext& context) const;
  // Called once per stream, from its OnDone.
  void Forget(Stream* stream);
  // Ends the streams waiting for a request since before `idle_before`
  // with `status`; the caller must not hold mutex_.
  void EndWaitingStreams(std::chrono::steady_clock::time_point idle_before,
                         const grpc::Status& status);
  // Ends the streams idle for idle_timeout; runs until the destructor.
  void SweepIdle();

  const std::vector<std::string> services_;
  const security::Authorizer* const authorizer_;
  const ReflectionOptions options_;
  WatchSlots slots_;
  std::atomic<bool> draining_{false};

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::set<Stream*> streams_ ABSL_GUARDED_BY(mutex_);
  std::thread sweeper_;
};

}  // namespace campaignq::server
