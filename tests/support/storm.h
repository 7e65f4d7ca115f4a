#pragma once
// Test glue over the verification kit (common/verify): storms against a
// Stack, judged by the kit's checks. The kit decides what holds; these
// only shorten the tests and turn database errors into test failures.

#include <cstdint>
#include <string>
#include <vector>

#include "common/verify/apply.h"
#include "common/verify/checks.h"
#include "common/verify/storm.h"
#include "support/stack.h"

namespace campaignq::testing {

using verify::ApplyRecord;
using verify::SteadyTime;

// Runs `sql` (a test's fixture: triggers, roles) on the database at `url`.
void ExecSql(const std::string& url, const std::string& sql);

// CreateCampaign over the stack's gRPC API; its id (0 and a test failure
// on error). cap <= 0: unlimited.
int64_t CreateCampaign(Stack& stack, const std::string& name, int cap, bool waitlist = true);

// `count` campaigns "<prefix>-<i>" with `cap` seats, half with a waitlist
// and half rejecting when full, so that storms take both paths.
std::vector<int64_t> CreateCampaigns(Stack& stack, int count, int cap, const std::string& prefix);

// Waits (at most 120 s) until `fraction` of a storm's `applicants` Applies
// were answered, so that a fault lands in the middle of it.
void WaitForStormProgress(const verify::StormCounters& counters, size_t applicants,
                          double fraction);

// `applicants` records spread round-robin over `campaigns`, users
// "<prefix>user-<i>".
std::vector<ApplyRecord> Applicants(const std::vector<int64_t>& campaigns, int applicants,
                                    const std::string& prefix = "");

// verify::RunStorm from `threads` threads, each with its own stub on the
// stack's server, retrying until `give_up`; cancels a `cancel_fraction` of
// the acknowledged applications while it runs. `counters`, when given, show
// its progress live (a fault test injects its fault mid-storm by them).
verify::StormResult RunApplyStorm(Stack& stack, std::vector<ApplyRecord>& records, int threads,
                                  SteadyTime give_up, double cancel_fraction = 0,
                                  verify::StormCounters* counters = nullptr);

// verify::InstallDecisionAudit on the stack's database; fails the test on error.
void InstallDecisionAudit(Stack& stack);

// verify::WaitUntilNothingPending for the records' campaigns.
bool WaitUntilDecided(Stack& stack, const std::vector<ApplyRecord>& records, SteadyTime deadline);

// verify::Verify on the stack's database (audit required); a database error
// fails the test and returns an empty verdict.
verify::Verdict VerifyStorm(Stack& stack, const std::vector<ApplyRecord>& records,
                            verify::VerifyOptions options = {});

// Every invariant holds; the failure lists the violations.
void ExpectAllHold(const verify::Verdict& verdict);

// Every Apply was acknowledged; the failure counts the others' last codes.
void ExpectAllAcknowledged(const std::vector<ApplyRecord>& records);

}  // namespace campaignq::testing
