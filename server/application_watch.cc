#include "server/application_watch.h"

#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/db/pg_status.h"
#include "common/log.h"
#include "common/status_details.h"
#include "server/status_mapping.h"

namespace campaignq::server {
namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

// The call's deadline; "no deadline" is absl::InfiniteFuture().
absl::Time ClientDeadline(const grpc::ServerContext& context) {
  const auto deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return absl::InfiniteFuture();
  return absl::FromChrono(deadline);
}

// An absl::Time on the steady clock (which the listener waits on);
// infinite stays infinite instead of overflowing.
SteadyTime Steady(absl::Time time) {
  if (time == absl::InfiniteFuture()) return SteadyTime::max();
  return std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(time - absl::Now());
}

// UNAVAILABLE's message is the server's fixed one; the reason tells a
// client that watching again (elsewhere) is the answer.
absl::Status ShuttingDown() {
  absl::Status status = absl::UnavailableError("server is shutting down; watch again");
  SetErrorReason(status, "SERVER_SHUTTING_DOWN");
  return status;
}

bool Changed(const v1::Application& before, const v1::Application& after) {
  using google::protobuf::util::MessageDifferencer;
  return before.status() != after.status() ||
         !MessageDifferencer::Equals(before.update_time(), after.update_time()) ||
         before.has_position() != after.has_position() || before.position() != after.position() ||
         before.position_is_estimate() != after.position_is_estimate() ||
         !MessageDifferencer::Equals(before.estimated_wait(), after.estimated_wait());
}

bool InLine(v1::ApplicationStatus status) {
  return status == v1::APPLICATION_STATUS_PENDING || status == v1::APPLICATION_STATUS_WAITLISTED;
}

// The application with its place, recording its campaign's progress.
absl::StatusOr<v1::Application> ReadInLine(store::CampaignStore* store, WaitEstimator* estimator,
                                           int64_t application_id, absl::Time deadline) {
  absl::StatusOr<store::ApplicationInLine> read =
      store->GetApplicationInLine(application_id, deadline);
  if (!read.ok()) return read.status();
  SetPlaceInLine(*read, estimator, &read->application);
  return std::move(read->application);
}

}  // namespace

bool PlaceReadDue(std::chrono::steady_clock::duration since_place_read, bool campaign_changed) {
  return since_place_read >= kPlaceRefreshInterval &&
         (campaign_changed || since_place_read >= kPlaceFallbackInterval);
}

bool IsFinalForWatch(v1::ApplicationStatus status) {
  switch (status) {
    case v1::APPLICATION_STATUS_APPROVED:
    case v1::APPLICATION_STATUS_REJECTED:
    case v1::APPLICATION_STATUS_CANCELLED:
    case v1::APPLICATION_STATUS_FAILED:
    case v1::APPLICATION_STATUS_RELEASED:
    case v1::APPLICATION_STATUS_EXPIRED:
      return true;
    default:
      return false;
  }
}

grpc::Status WatchApplication(store::CampaignStore* store, const DecisionListener* listener,
                              WaitEstimator* estimator, grpc::ServerContext* context,
                              int64_t application_id,
                              grpc::ServerWriterInterface<v1::Application>* writer,
                              CallLimits* limits, const std::string& caller) {
  std::optional<WatchSlots::Slot> slot;
  if (limits != nullptr) {
    absl::StatusOr<WatchSlots::Slot> taken = limits->watch_slots().Take(caller);
    if (!taken.ok()) return ToGrpcStatus(taken.status());
    slot.emplace(*std::move(taken));
  }
  const absl::Time client_deadline = ClientDeadline(*context);
  // When the server ends the watch (OK), if before the client's deadline.
  const absl::Time watch_end = limits != nullptr
                                   ? limits->Now() + limits->options().max_watch_duration
                                   : absl::InfiniteFuture();
  // Each read's SQL: the client's deadline, capped per read.
  const auto read_deadline = [&] {
    return limits != nullptr ? limits->CapDeadline(client_deadline) : client_deadline;
  };

  absl::StatusOr<v1::Application> first =
      ReadInLine(store, estimator, application_id, read_deadline());
  if (!first.ok()) return ToGrpcStatus(first.status());
  v1::Application last = *std::move(first);
  if (!writer->Write(last)) return ToGrpcStatus(absl::CancelledError("client went away"));
  if (IsFinalForWatch(last.status())) return grpc::Status::OK;

  const bool ends_by_server = watch_end < client_deadline;
  const SteadyTime deadline = Steady(std::min(client_deadline, watch_end));
  const int64_t campaign_id = last.campaign_id();
  uint64_t generation = listener->Generation(campaign_id);
  SteadyTime place_read_at = std::chrono::steady_clock::now();
  uint64_t place_generation = generation;
  // A decision that landed between the first read and taking the
  // generation would be missed until the fallback: re-read once at once.
  bool reread_now = true;
  while (true) {
    if (context->IsCancelled()) return ToGrpcStatus(absl::CancelledError("cancelled"));
    if (listener->stopped()) {
      return ToGrpcStatus(ShuttingDown());
    }
    const SteadyTime now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      // The server's maximum watch duration: the last message sent is the
      // current state, and the caller watches again.
      if (ends_by_server) return grpc::Status::OK;
      return ToGrpcStatus(absl::DeadlineExceededError(
          absl::StrCat("application ", application_id, " is not final yet")));
    }
    if (!reread_now) {
      const SteadyTime wake =
          deadline - now < kWatchFallbackInterval ? deadline : now + kWatchFallbackInterval;
      generation = listener->WaitForChange(campaign_id, generation, wake);
      if (listener->stopped() || context->IsCancelled()) continue;  // report it above
    }
    reread_now = false;

    const SteadyTime read_at = std::chrono::steady_clock::now();
    const bool place_due = InLine(last.status()) &&
                           PlaceReadDue(read_at - place_read_at, generation != place_generation);
    bool place_read = place_due;
    absl::StatusOr<v1::Application> current =
        place_due ? ReadInLine(store, estimator, application_id, read_deadline())
                  : store->GetApplication(application_id, read_deadline());
    if (current.ok() && !place_due) {
      if (InLine(current->status()) && current->status() != last.status()) {
        // Into a new line: its place, not the old line's.
        current = ReadInLine(store, estimator, application_id, read_deadline());
        place_read = true;
      } else if (InLine(current->status())) {
        // Not re-read yet: the place last sent stands.
        current->set_position_is_estimate(last.position_is_estimate());
        if (last.has_position()) current->set_position(last.position());
        if (last.has_estimated_wait()) *current->mutable_estimated_wait() = last.estimated_wait();
      }
    }
    if (current.ok() && place_read) {
      place_read_at = read_at;
      place_generation = generation;
    }
    if (!current.ok()) {
      if (db::IsTransient(current.status()) ||
          current.status().code() == absl::StatusCode::kUnavailable) {
        LogDebug("server", "watch re-read failed, retrying: ", current.status().ToString(),
                 " application_id=", application_id);
        continue;
      }
      return ToGrpcStatus(current.status());
    }
    if (!Changed(last, *current)) continue;
    last = *std::move(current);
    if (!writer->Write(last)) return ToGrpcStatus(absl::CancelledError("client went away"));
    if (IsFinalForWatch(last.status())) return grpc::Status::OK;
  }
}

}  // namespace campaignq::server
