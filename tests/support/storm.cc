#include "support/storm.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"

namespace campaignq::testing {

std::vector<ApplyRecord> Applicants(const std::vector<int64_t>& campaigns, int applicants,
                                    const std::string& prefix) {
  std::vector<ApplyRecord> records(applicants);
  for (int i = 0; i < applicants; ++i) {
    records[i].campaign_id = campaigns[i % campaigns.size()];
    records[i].user_id = absl::StrCat(prefix, "user-", i);
  }
  return records;
}

verify::StormResult RunApplyStorm(Stack& stack, std::vector<ApplyRecord>& records, int threads,
                                  SteadyTime give_up, double cancel_fraction,
                                  verify::StormCounters* counters) {
  verify::StormOptions options;
  options.threads = threads;
  options.new_stub = [&](int) { return stack.NewStub(); };
  options.retry.give_up = give_up;
  options.cancel_fraction = cancel_fraction;
  options.counters = counters;
  return verify::RunStorm(records, options);
}

void InstallDecisionAudit(Stack& stack) {
  const absl::Status status = verify::InstallDecisionAudit(stack.database_url());
  ASSERT_TRUE(status.ok()) << status;
}

bool WaitUntilDecided(Stack& stack, const std::vector<ApplyRecord>& records, SteadyTime deadline) {
  const absl::StatusOr<bool> done =
      verify::WaitUntilNothingPending(stack.database_url(), verify::CampaignsOf(records), deadline);
  EXPECT_TRUE(done.ok()) << done.status();
  return done.ok() && *done;
}

verify::Verdict VerifyStorm(Stack& stack, const std::vector<ApplyRecord>& records,
                            verify::VerifyOptions options) {
  absl::StatusOr<verify::Verdict> verdict = verify::Verify(stack.database_url(), records, options);
  EXPECT_TRUE(verdict.ok()) << verdict.status();
  return verdict.ok() ? *std::move(verdict) : verify::Verdict();
}

void ExpectAllHold(const verify::Verdict& verdict) {
  EXPECT_TRUE(verdict.AllHold()) << absl::StrJoin(verdict.violations, "\n");
}

void ExpectAllAcknowledged(const std::vector<ApplyRecord>& records) {
  std::map<int, int> unacknowledged_by_code;
  for (const ApplyRecord& record : records) {
    if (!record.acknowledged) ++unacknowledged_by_code[record.last_code];
  }
  EXPECT_TRUE(unacknowledged_by_code.empty()) << [&] {
    std::string text = "unacknowledged Applies by gRPC code:";
    for (const auto& [code, count] : unacknowledged_by_code) {
      absl::StrAppend(&text, " ", code, "=", count);
    }
    return text;
  }();
}

}  // namespace campaignq::testing
