#include "support/storm.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <pqxx/pqxx>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "client/retry.h"
#include "support/poll.h"

namespace campaignq::testing {
namespace {

void ApplyWithRetries(ApplyRecord& record, v1::CampaignQueue::Stub& stub, SteadyTime give_up,
                      absl::BitGen& random) {
  record.first_send = std::chrono::steady_clock::now();
  for (;;) {
    ++record.attempts;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::ApplyRequest request;
    request.set_campaign_id(record.campaign_id);
    request.set_user_id(record.user_id);
    v1::Application reply;
    const grpc::Status status = stub.Apply(&context, request, &reply);
    const auto now = std::chrono::steady_clock::now();
    record.last_code = status.error_code();
    if (status.ok() || (status.error_code() == grpc::StatusCode::ALREADY_EXISTS &&
                        record.attempts > 1)) {
      record.acknowledged = true;
      record.application_id = status.ok() ? reply.id() : 0;
      record.reply = now;
      return;
    }
    if (!client::IsTransient(status.error_code()) || now >= give_up) return;
    // Jittered: a restarting server is hit by every thread at once.
    std::this_thread::sleep_for(absl::ToChronoMilliseconds(client::BackoffDelay(
        record.attempts, absl::Milliseconds(20), absl::Seconds(1), absl::Uniform(random, 0.0, 1.0))));
  }
}

}  // namespace

void RunApplyStorm(std::vector<ApplyRecord>& records, int threads,
                   const std::function<std::unique_ptr<v1::CampaignQueue::Stub>()>& stub_factory,
                   SteadyTime give_up) {
  std::atomic<size_t> next{0};
  std::mutex mutex;
  std::condition_variable go;
  bool released = false;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      auto stub = stub_factory();
      absl::BitGen random;
      {
        std::unique_lock<std::mutex> lock(mutex);
        go.wait(lock, [&] { return released; });
      }
      for (size_t i = next++; i < records.size(); i = next++) {
        ApplyWithRetries(records[i], *stub, give_up, random);
      }
    });
  }
  {
    std::lock_guard<std::mutex> lock(mutex);
    released = true;
  }
  go.notify_all();
  for (auto& thread : pool) thread.join();
}

void InstallDecisionAudit(const std::string& database_url) {
  pqxx::connection connection(database_url);
  pqxx::work txn(connection);
  txn.exec(R"sql(
    CREATE TABLE test_decision_audit (
        application_id bigint NOT NULL,
        old_status text NOT NULL,
        new_status text NOT NULL);
    CREATE FUNCTION test_audit_decision() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO test_decision_audit VALUES (NEW.id, OLD.status, NEW.status);
      RETURN NEW;
    END $$;
    CREATE TRIGGER test_audit_decision AFTER UPDATE OF status ON applications
      FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
      EXECUTE FUNCTION test_audit_decision();
  )sql");
  txn.commit();
}

bool WaitUntilNothingPending(const std::string& database_url, SteadyTime deadline) {
  pqxx::connection connection(database_url);
  return PollUntil(
      [&] {
        pqxx::nontransaction txn(connection);
        return txn.exec("SELECT count(*) FROM applications WHERE status = 'pending'")[0][0]
                   .as<int64_t>() == 0;
      },
      deadline, std::chrono::milliseconds(50));
}

StormVerdict VerifyStorm(const std::string& database_url, const std::vector<ApplyRecord>& records,
                         bool expect_full) {
  StormVerdict verdict;
  pqxx::connection connection(database_url);
  pqxx::work txn(connection);
  auto violation = [&](std::string text) { verdict.violations.push_back(std::move(text)); };

  struct Row {
    int64_t id;
    std::string status, reason;
  };
  std::map<std::pair<int64_t, std::string>, Row> stored;
  for (const auto& row : txn.exec("SELECT campaign_id, user_id, id, status, coalesce(reason, '') "
                                  "FROM applications")) {
    stored[{row[0].as<int64_t>(), row[1].as<std::string>()}] = {
        row[2].as<int64_t>(), row[3].as<std::string>(), row[4].as<std::string>()};
    if (row[3].as<std::string>() == "pending") ++verdict.pending;
  }
  if (verdict.pending > 0) violation(absl::StrCat(verdict.pending, " applications still pending"));

  std::map<int64_t, int64_t> acknowledged_by_campaign;
  for (const ApplyRecord& record : records) {
    if (!record.acknowledged) continue;
    ++verdict.acknowledged;
    ++acknowledged_by_campaign[record.campaign_id];
    auto it = stored.find({record.campaign_id, record.user_id});
    if (it == stored.end()) {
      violation(absl::StrCat("acknowledged Apply lost: campaign ", record.campaign_id, " user ",
                             record.user_id));
    } else if (record.application_id != 0 && record.application_id != it->second.id) {
      violation(absl::StrCat("Apply replied id ", record.application_id, " but stored ",
                             it->second.id));
    }
  }

  for (const auto& row : txn.exec(
           "SELECT c.id, c.max_participants, c.approved_count, "
           "       (SELECT count(*) FROM applications a "
           "        WHERE a.campaign_id = c.id AND a.status = 'approved') "
           "FROM campaigns c")) {
    const int64_t campaign = row[0].as<int64_t>();
    const int64_t approved = row[3].as<int64_t>();
    verdict.approved_by_campaign[campaign] = approved;
    if (!row[1].is_null() && approved > row[1].as<int64_t>()) {
      violation(absl::StrCat("campaign ", campaign, " approved ", approved, " over its cap ",
                             row[1].as<int64_t>()));
    }
    if (row[2].as<int64_t>() != approved) {
      violation(absl::StrCat("campaign ", campaign, " approved_count ", row[2].as<int64_t>(),
                             " but ", approved, " approved rows"));
    }
    if (expect_full && acknowledged_by_campaign.count(campaign) != 0) {
      const int64_t applicants = acknowledged_by_campaign[campaign];
      const int64_t expected =
          row[1].is_null() ? applicants : std::min<int64_t>(row[1].as<int64_t>(), applicants);
      if (approved != expected) {
        violation(absl::StrCat("campaign ", campaign, " approved ", approved, ", expected ",
                               expected));
      }
    }
  }

  for (const auto& row : txn.exec(
           "SELECT a.id, (SELECT count(*) FROM test_decision_audit d "
           "              WHERE d.application_id = a.id AND d.old_status = 'pending') "
           "FROM applications a")) {
    if (row[1].as<int64_t>() != 1) {
      violation(absl::StrCat("application ", row[0].as<int64_t>(), " left pending ",
                             row[1].as<int64_t>(), " times"));
    }
  }

  // FCFS: the earliest reply among each campaign's losers (waitlisted, or
  // rejected as full); an approved Apply sent after that reply jumped ahead.
  std::map<int64_t, SteadyTime> earliest_loser_reply;
  for (const ApplyRecord& record : records) {
    auto it = stored.find({record.campaign_id, record.user_id});
    if (!record.acknowledged || it == stored.end()) continue;
    const Row& row = it->second;
    if (row.status == "waitlisted" || (row.status == "rejected" && row.reason == "campaign_full")) {
      auto [slot, inserted] = earliest_loser_reply.emplace(record.campaign_id, record.reply);
      if (!inserted) slot->second = std::min(slot->second, record.reply);
    }
  }
  for (const ApplyRecord& record : records) {
    auto it = stored.find({record.campaign_id, record.user_id});
    if (!record.acknowledged || it == stored.end() || it->second.status != "approved") continue;
    auto loser = earliest_loser_reply.find(record.campaign_id);
    if (loser != earliest_loser_reply.end() && loser->second < record.first_send) {
      ++verdict.fcfs_violations;
    }
  }
  if (verdict.fcfs_violations > 0) {
    violation(absl::StrCat(verdict.fcfs_violations, " first-come-first-served violations"));
  }
  return verdict;
}

}  // namespace campaignq::testing
