#include "server/reflection_service.h"

#include <algorithm>
#include <atomic>
#include <unordered_set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.pb.h"
#include "server/limits/call_limits.h"
#include "server/status_mapping.h"

namespace campaignq::server {
namespace {

using grpc::reflection::v1alpha::ServerReflectionRequest;
using grpc::reflection::v1alpha::ServerReflectionResponse;

constexpr absl::Duration kRetryAfter = absl::Seconds(5);

// `file` and, depth first, each of its dependencies not yet in `sent`: a
// client can build its own pool from one answer.
void AddFile(const google::protobuf::FileDescriptor* file, std::unordered_set<std::string>* sent,
             ServerReflectionResponse* response) {
  if (!sent->insert(file->name()).second) return;
  google::protobuf::FileDescriptorProto proto;
  file->CopyTo(&proto);
  response->mutable_file_descriptor_response()->add_file_descriptor_proto(
      proto.SerializeAsString());
  for (int i = 0; i < file->dependency_count(); ++i) AddFile(file->dependency(i), sent, response);
}

void SetError(grpc::StatusCode code, const char* message, ServerReflectionResponse* response) {
  response->mutable_error_response()->set_error_code(code);
  response->mutable_error_response()->set_error_message(message);
}

}  // namespace

ServerReflectionResponse AnswerReflection(const ServerReflectionRequest& request,
                                          const std::vector<std::string>& services,
                                          const google::protobuf::DescriptorPool& pool) {
  ServerReflectionResponse response;
  std::unordered_set<std::string> sent;
  switch (request.message_request_case()) {
    case ServerReflectionRequest::kFileByFilename:
      if (const auto* file = pool.FindFileByName(request.file_by_filename())) {
        AddFile(file, &sent, &response);
      } else {
        SetError(grpc::StatusCode::NOT_FOUND, "File not found.", &response);
      }
      break;
    case ServerReflectionRequest::kFileContainingSymbol:
      if (const auto* file = pool.FindFileContainingSymbol(request.file_containing_symbol())) {
        AddFile(file, &sent, &response);
      } else {
        SetError(grpc::StatusCode::NOT_FOUND, "Symbol not found.", &response);
      }
      break;
    case ServerReflectionRequest::kFileContainingExtension: {
      const auto& extension = request.file_containing_extension();
      const auto* type = pool.FindMessageTypeByName(extension.containing_type());
      const auto* field = type == nullptr
                              ? nullptr
                              : pool.FindExtensionByNumber(type, extension.extension_number());
      if (type == nullptr) {
        SetError(grpc::StatusCode::NOT_FOUND, "Type not found.", &response);
      } else if (field == nullptr) {
        SetError(grpc::StatusCode::NOT_FOUND, "Extension not found.", &response);
      } else {
        AddFile(field->file(), &sent, &response);
      }
      break;
    }
    case ServerReflectionRequest::kAllExtensionNumbersOfType: {
      const auto* type = pool.FindMessageTypeByName(request.all_extension_numbers_of_type());
      if (type == nullptr) {
        SetError(grpc::StatusCode::NOT_FOUND, "Type not found.", &response);
        break;
      }
      std::vector<const google::protobuf::FieldDescriptor*> extensions;
      pool.FindAllExtensions(type, &extensions);
      auto* numbers = response.mutable_all_extension_numbers_response();
      numbers->set_base_type_name(request.all_extension_numbers_of_type());
      for (const auto* extension : extensions) numbers->add_extension_number(extension->number());
      break;
    }
    case ServerReflectionRequest::kListServices:
      for (const std::string& name : services) {
        response.mutable_list_services_response()->add_service()->set_name(name);
      }
      break;
    default:
      SetError(grpc::StatusCode::UNIMPLEMENTED, "", &response);
  }
  response.set_valid_host(request.host());
  *response.mutable_original_request() = request;
  return response;
}

std::chrono::steady_clock::duration ReflectionSweepInterval(absl::Duration idle_timeout) {
  return std::clamp<std::chrono::steady_clock::duration>(
      absl::ToChronoNanoseconds(idle_timeout) / 4, std::chrono::milliseconds(10),
      std::chrono::seconds(1));
}

namespace {

// A stream refused as it opens: finished before it is returned, which the
// callback API allows; nothing is read.
class Refused final
    : public grpc::ServerBidiReactor<ServerReflectionRequest, ServerReflectionResponse> {
 public:
  explicit Refused(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

grpc::Status DrainingStatus() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      "the server is shutting down; open a reflection stream to another one");
}

}  // namespace

// One admitted stream: read a request, write its answer, read the next.
// Between requests a read is outstanding and no thread is held.
//
// Ending it from outside (the sweeper, Drain) races the reactions: mutex_
// orders them, and whoever sets finished_ is the one that calls Finish.
// Outside code ends only a stream that waits for a request (a Finish while
// a write is outstanding is not allowed); a stream that is answering checks
// draining_ when its write is done. gRPC operations started from a
// reaction run their reactions after it returns, so reactions may start
// them under mutex_; the sweeper's Finish may run OnReadDone and OnDone
// before it returns, so it is called without mutex_. The reference count
// keeps the stream alive while the sweeper holds it.
class ReflectionService::Stream final
    : public grpc::ServerBidiReactor<ServerReflectionRequest, ServerReflectionResponse> {
 public:
  Stream(ReflectionService* service, WatchSlots::Slot slot)
      : service_(service), slot_(std::move(slot)) {}

  void Begin() {
    std::lock_guard<std::mutex> lock(mutex_);
    ReadLocked();
  }

  void OnReadDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mutex_);
    reading_ = false;
    if (finished_) return;  // ended from outside while the request arrived
    // The client closed its side (or the call was cancelled): done.
    if (!ok) return FinishLocked(grpc::Status::OK);
    response_ = AnswerReflection(request_, service_->services_,
                                 *google::protobuf::DescriptorPool::generated_pool());
    StartWrite(&response_);
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (finished_) return;
    // The client is gone; the status is for the record only.
    if (!ok) return FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "write failed"));
    if (service_->draining_.load()) return FinishLocked(DrainingStatus());
    ReadLocked();
  }

  void OnDone() override {
    // gRPC runs OnDone after every other reaction has returned, but orders
    // them by its own means: taking mutex_, which every reaction holds
    // while it touches request_ and response_, makes their writes happen
    // before the members are destroyed (and lets TSan see it).
    { std::lock_guard<std::mutex> lock(mutex_); }
    service_->Forget(this);
    Unref();
  }

  // Finishes with `status` if it has waited for a request since before
  // `idle_before`; call without holding the service's mutex.
  void EndIfWaitingSince(std::chrono::steady_clock::time_point idle_before,
                         const grpc::Status& status) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (finished_ || !reading_ || read_since_ > idle_before) return;
      finished_ = true;
    }
    Finish(status);
  }

  void Ref() { refs_.fetch_add(1); }
  void Unref() {
    if (refs_.fetch_sub(1) == 1) delete this;
  }

 private:
  void ReadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    reading_ = true;
    read_since_ = std::chrono::steady_clock::now();
    StartRead(&request_);
  }
  void FinishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    finished_ = true;
    Finish(status);
  }

  ReflectionService* const service_;
  // Given back when the stream is deleted, after OnDone.
  const WatchSlots::Slot slot_;
  // gRPC's reference (dropped in OnDone) and the sweeper's.
  std::atomic<int> refs_{1};
  std::mutex mutex_;
  bool reading_ ABSL_GUARDED_BY(mutex_) = false;
  bool finished_ ABSL_GUARDED_BY(mutex_) = false;
  std::chrono::steady_clock::time_point read_since_ ABSL_GUARDED_BY(mutex_);
  ServerReflectionRequest request_;
  ServerReflectionResponse response_;
};

ReflectionService::ReflectionService(std::vector<std::string> services,
                                     const security::Authorizer* authorizer,
                                     ReflectionOptions options)
    : services_(std::move(services)),
      authorizer_(authorizer),
      options_(options),
      slots_(options.max_streams_per_key, options.max_streams_total, kRetryAfter,
             kReflectionSlotNames) {
  if (options_.idle_timeout > absl::ZeroDuration()) {
    sweeper_ = std::thread([this] { SweepIdle(); });
  }
}

ReflectionService::~ReflectionService() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (sweeper_.joinable()) sweeper_.join();
}

absl::StatusOr<std::string> ReflectionService::CallerKey(
    const grpc::CallbackServerContext& context) const {
  if (authorizer_ == nullptr) return PeerKey(context);
  absl::StatusOr<security::Principal> principal =
      authorizer_->Authenticate(context.client_metadata(), context.auth_context().get());
  if (!principal.ok()) {
    return absl::UnauthenticatedError("server reflection needs a valid token");
  }
  return principal->anonymous ? PeerKey(context) : principal->name;
}

grpc::ServerBidiReactor<ServerReflectionRequest, ServerReflectionResponse>*
ReflectionService::ServerReflectionInfo(grpc::CallbackServerContext* context) {
  if (draining_.load()) return new Refused(DrainingStatus());
  absl::StatusOr<std::string> key = CallerKey(*context);
  if (!key.ok()) return new Refused(ToGrpcStatus(key.status()));
  absl::StatusOr<WatchSlots::Slot> slot = slots_.Take(*key);
  if (!slot.ok()) return new Refused(ToGrpcStatus(slot.status()));
  auto* stream = new Stream(this, *std::move(slot));
  {
    std::lock_guard<std::mutex> lock(mutex_);
    streams_.insert(stream);
  }
  wake_.notify_all();
  stream->Begin();
  // A Drain() that ran between the check above and the insert did not see
  // this stream: end it like the others.
  if (draining_.load()) {
    stream->Ref();
    stream->EndIfWaitingSince(std::chrono::steady_clock::time_point::max(), DrainingStatus());
    stream->Unref();
  }
  return stream;
}

void ReflectionService::Drain() {
  draining_.store(true);
  EndWaitingStreams(std::chrono::steady_clock::time_point::max(), DrainingStatus());
}

void ReflectionService::Forget(Stream* stream) {
  std::lock_guard<std::mutex> lock(mutex_);
  streams_.erase(stream);
}

void ReflectionService::EndWaitingStreams(std::chrono::steady_clock::time_point idle_before,
                                          const grpc::Status& status) {
  std::vector<Stream*> held;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    held.assign(streams_.begin(), streams_.end());
    for (Stream* stream : held) stream->Ref();
  }
  for (Stream* stream : held) {
    stream->EndIfWaitingSince(idle_before, status);
    stream->Unref();
  }
}

void ReflectionService::SweepIdle() {
  const auto timeout = absl::ToChronoNanoseconds(options_.idle_timeout);
  const auto interval = ReflectionSweepInterval(options_.idle_timeout);
  const grpc::Status idle(
      grpc::StatusCode::UNAVAILABLE,
      absl::StrCat("reflection stream idle for ", absl::FormatDuration(options_.idle_timeout),
                   "; open a new one when you need it"));
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !streams_.empty(); });
    if (wake_.wait_for(lock, interval, [this] { return stopping_; })) return;
    lock.unlock();
    EndWaitingStreams(std::chrono::steady_clock::now() - timeout, idle);
    lock.lock();
  }
}

}  // namespace campaignq::server
