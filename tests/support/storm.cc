#include "support/storm.h"

#include <chrono>
#include <map>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "support/poll.h"

namespace campaignq::testing {

void ExecSql(const std::string& url, const std::string& sql) {
  pqxx::connection connection(url);
  pqxx::nontransaction txn(connection);
  txn.exec(sql);
}

int64_t CreateCampaign(Stack& stack, const std::string& name, int cap, bool waitlist) {
  auto stub = stack.NewStub();
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::CreateCampaignRequest request;
  request.set_name(name);
  if (cap > 0) request.set_max_participants(cap);
  request.set_waitlist(waitlist);
  v1::Campaign campaign;
  const grpc::Status status = stub->CreateCampaign(&context, request, &campaign);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return campaign.id();
}

std::vector<int64_t> CreateCampaigns(Stack& stack, int count, int cap, const std::string& prefix) {
  std::vector<int64_t> campaigns;
  for (int i = 0; i < count; ++i) {
    campaigns.push_back(CreateCampaign(stack, absl::StrCat(prefix, "-", i), cap, i % 2 == 0));
  }
  return campaigns;
}

void WaitForStormProgress(const verify::StormCounters& counters, size_t applicants,
                          double fraction) {
  EXPECT_TRUE(PollUntil(
      [&] {
        return counters.acknowledged + counters.unacknowledged >=
               static_cast<int64_t>(fraction * applicants);
      },
      Deadline(std::chrono::seconds(120)), std::chrono::milliseconds(2)))
      << "the storm made no progress";
}

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
