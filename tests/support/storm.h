#pragma once
// Concurrent Apply storms over gRPC and the invariant checks that follow
// them, read straight from PostgreSQL.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "support/stack.h"

namespace campaignq::testing {

using SteadyTime = std::chrono::steady_clock::time_point;

// One applicant of a storm and what the service told it.
struct ApplyRecord {
  int64_t campaign_id = 0;
  std::string user_id;
  // Set when an Apply returned OK, or ALREADY_EXISTS on a retry (the first
  // attempt had landed): the application is acknowledged.
  bool acknowledged = false;
  int64_t application_id = 0;  // when known from the reply
  SteadyTime first_send;       // just before the first attempt
  SteadyTime reply;            // just after the acknowledging reply
  int attempts = 0;
  grpc::StatusCode last_code = grpc::StatusCode::OK;
};

// Sends one Apply per record from `threads` threads, all released at once.
// Transient failures (client::IsTransient) are retried on the same user id,
// with the CLI's jittered backoff, until `give_up`; ALREADY_EXISTS after a retry
// counts as acknowledged. Other codes are recorded and not retried.
// `stub_factory` gives each thread its own stub.
void RunApplyStorm(std::vector<ApplyRecord>& records, int threads,
                   const std::function<std::unique_ptr<v1::CampaignQueue::Stub>()>& stub_factory,
                   SteadyTime give_up);

// Installs (in the stack's database) a trigger that records every status
// change of an application, so that "decided exactly once" can be checked.
void InstallDecisionAudit(const std::string& database_url);

// Waits until no application is pending; false at the deadline.
bool WaitUntilNothingPending(const std::string& database_url, SteadyTime deadline);

// What the database says after a storm, and every invariant broken.
struct StormVerdict {
  std::map<int64_t, int64_t> approved_by_campaign;
  int64_t acknowledged = 0;
  int64_t pending = 0;
  int64_t fcfs_violations = 0;
  std::vector<std::string> violations;  // human-readable, empty when all hold
};

// Checks: every acknowledged Apply is stored exactly once and decided; no
// application pending; per campaign approved <= cap and approved_count ==
// approved rows; each application left 'pending' exactly once (audit);
// FCFS by real time (an Apply acknowledged before another was sent is never
// waitlisted/rejected-as-full while the later one is approved). When
// `expect_full` is true (nothing cancelled or closed), also approved ==
// min(cap, acknowledged applicants) per campaign.
StormVerdict VerifyStorm(const std::string& database_url, const std::vector<ApplyRecord>& records,
                         bool expect_full);

}  // namespace campaignq::testing
