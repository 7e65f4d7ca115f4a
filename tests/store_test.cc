// db tier: store::CampaignStore over a db::ConnectionPool against real
// PostgreSQL, one fresh migrated database per test.

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <pqxx/pqxx>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/db/connect.h"
#include "common/db/migrator.h"
#include "common/db/pg_status.h"
#include "common/db/pool.h"
#include "common/db/transaction.h"
#include "common/queue/claim.h"
#include "common/store/apply_batcher.h"
#include "common/store/campaign_store.h"
#include "common/store/validation.h"
#include "gtest/gtest.h"
#include "statements.h"
#include "support/test_postgres.h"

namespace campaignq {
namespace {

using absl::StatusCode;

// The value of an OK StatusOr; otherwise a test failure (the exception ends
// the test; GoogleTest reports it).
template <typename T>
T Must(absl::StatusOr<T> result, const char* what = "") {
  if (!result.ok()) {
    ADD_FAILURE() << what << ": " << result.status();
    throw std::runtime_error(result.status().ToString());
  }
  return *std::move(result);
}

std::unique_ptr<db::Connection> MustConnect(const std::string& url) {
  return Must(db::Connect(url, {}), "connect");
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    url_ = testing::FreshDatabaseUrl(info->name());
    sql_ = MustConnect(url_);
    ASSERT_TRUE(db::Migrate(*sql_, db::MigrateMode::kAuto).ok());
    db::PoolOptions options;
    options.url = url_;
    options.connect.application_name = "campaignq-store-test";
    options.max_connections = 8;
    pool_ = std::make_unique<db::ConnectionPool>(options);
    store_ = std::make_unique<store::CampaignStore>(pool_.get());
  }

  v1::Campaign Create(const std::string& name, std::optional<int32_t> cap = std::nullopt,
                      std::optional<bool> waitlist = std::nullopt) {
    v1::CreateCampaignRequest request;
    request.set_name(name);
    if (cap) request.set_max_participants(*cap);
    if (waitlist) request.set_waitlist(*waitlist);
    return Must(store_->CreateCampaign(request), "CreateCampaign");
  }

  absl::StatusOr<v1::Application> TryApply(int64_t campaign_id, const std::string& user_id) {
    v1::ApplyRequest request;
    request.set_campaign_id(campaign_id);
    request.set_user_id(user_id);
    return store_->Apply(request);
  }

  v1::Application Apply(int64_t campaign_id, const std::string& user_id) {
    return Must(TryApply(campaign_id, user_id), "Apply");
  }

  v1::Application Get(int64_t application_id) {
    return Must(store_->GetApplication(application_id), "GetApplication");
  }

  v1::Campaign GetCampaign(int64_t campaign_id) {
    return Must(store_->GetCampaign(campaign_id), "GetCampaign");
  }

  // Decides every pending application of the campaign the way a worker
  // does: the claim protocol (queue::ClaimProtocol) restricted to this campaign.
  // Returns how many.
  int DecideAll(int64_t campaign_id, int batch_size = 2) {
    int decided = 0;
    while (true) {
      const queue::BatchResult result =
          queue::ClaimProtocol(sql_.get()).DecideCampaign(campaign_id, batch_size);
      if (!result.status.ok()) {
        ADD_FAILURE() << "DecideCampaign: " << result.status;
        throw std::runtime_error("DecideCampaign failed");
      }
      const int n = static_cast<int>(result.decisions.size());
      if (n == 0) return decided;
      decided += n;
    }
  }

  // Holds a campaign's row FOR UPDATE in a transaction of its own until
  // Release(): an Apply's insert into it then waits (its foreign-key check
  // takes FOR KEY SHARE on that row), and so does the writer writing it.
  class CampaignRowHold {
   public:
    CampaignRowHold(const std::string& url, int64_t campaign_id)
        : connection_(MustConnect(url)), txn_(*connection_) {
      txn_.exec_params("SELECT id FROM campaigns WHERE id = $1 FOR UPDATE", campaign_id);
    }
    void Release() { txn_.commit(); }

   private:
    std::unique_ptr<db::Connection> connection_;
    pqxx::work txn_;
  };

  // Returns once one of the pool's sessions waits for a lock: the writer is
  // busy.
  void AwaitAWriterWaitingForALock() {
    while (Scalar("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                  "AND application_name = 'campaignq-store-test'") == 0) {
    }
  }

  int64_t Scalar(const std::string& query) {
    pqxx::nontransaction txn(*sql_);
    return txn.exec(query)[0][0].as<int64_t>();
  }

  int64_t CountApplications(int64_t campaign_id, const std::string& status = "") {
    pqxx::nontransaction txn(*sql_);
    return txn
        .exec_params(
            "SELECT count(*) FROM applications "
            "WHERE campaign_id = $1 AND ($2 = '' OR status = $2)",
            campaign_id, status)[0][0]
        .as<int64_t>();
  }

  // approved_count equals the approved rows and stays within the cap; the
  // stats' counters (rejected_count, cancelled_count, failed_count) equal
  // their rows.
  void ExpectSeatsConsistent(int64_t campaign_id) {
    const v1::Campaign campaign = GetCampaign(campaign_id);
    EXPECT_EQ(campaign.approved_count(), CountApplications(campaign_id, "approved"))
        << "campaign " << campaign_id;
    if (campaign.has_max_participants()) {
      EXPECT_LE(campaign.approved_count(), campaign.max_participants());
    }
    int64_t rejected_count = 0, cancelled_count = 0, failed_count = 0;
    {
      pqxx::nontransaction txn(*sql_);
      const pqxx::row counters = txn.exec_params1(
          "SELECT rejected_count, cancelled_count, failed_count FROM campaigns WHERE id = $1",
          campaign_id);
      rejected_count = counters[0].as<int64_t>();
      cancelled_count = counters[1].as<int64_t>();
      failed_count = counters[2].as<int64_t>();
    }
    EXPECT_EQ(rejected_count, CountApplications(campaign_id, "rejected"))
        << "campaign " << campaign_id;
    EXPECT_EQ(cancelled_count, CountApplications(campaign_id, "cancelled"))
        << "campaign " << campaign_id;
    EXPECT_EQ(failed_count, CountApplications(campaign_id, "failed")) << "campaign " << campaign_id;
  }

  std::string url_;
  std::unique_ptr<db::Connection> sql_;  // for setup and direct checks
  std::unique_ptr<db::ConnectionPool> pool_;
  std::unique_ptr<store::CampaignStore> store_;
};

// --- campaigns -----------------------------------------------------------------

TEST_F(StoreTest, CreateCampaignStoresDefaultsAndGetReadsItBack) {
  const v1::Campaign unlimited = Create("unlimited");
  EXPECT_GT(unlimited.id(), 0);
  EXPECT_EQ(unlimited.name(), "unlimited");
  EXPECT_FALSE(unlimited.has_max_participants());
  EXPECT_TRUE(unlimited.waitlist());
  EXPECT_EQ(unlimited.status(), v1::CAMPAIGN_STATUS_OPEN);
  EXPECT_EQ(unlimited.approved_count(), 0);
  EXPECT_GT(unlimited.create_time().seconds(), 0);
  EXPECT_FALSE(unlimited.has_close_time() && unlimited.close_time().seconds() != 0);

  const v1::Campaign capped = Create("capped", 3, false);
  EXPECT_EQ(capped.max_participants(), 3);
  EXPECT_FALSE(capped.waitlist());
  const v1::Campaign read = GetCampaign(capped.id());
  EXPECT_EQ(read.SerializeAsString(), capped.SerializeAsString());
}

TEST_F(StoreTest, CreateCampaignRejectsBadInputAndStoresNothing) {
  struct Case {
    std::string name;
    std::optional<int32_t> cap;
  };
  const Case cases[] = {{"", std::nullopt}, {std::string(201, 'n'), 5},
                        {"bad\nname", 5},   {"ok name", 0},
                        {"ok name", -1},    {"\x01", std::nullopt}};
  for (const Case& c : cases) {
    v1::CreateCampaignRequest request;
    request.set_name(c.name);
    if (c.cap) request.set_max_participants(*c.cap);
    const auto result = store_->CreateCampaign(request);
    EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument)
        << "name '" << c.name << "' cap " << c.cap.value_or(-999) << ": " << result.status();
  }
  EXPECT_EQ(Scalar("SELECT count(*) FROM campaigns"), 0);
}

TEST_F(StoreTest, GetCampaignUnknownIsNotFoundAndBadIdInvalid) {
  EXPECT_EQ(store_->GetCampaign(424242).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->GetCampaign(0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->CloseCampaign(424242).status().code(), StatusCode::kNotFound);
}

TEST_F(StoreTest, ListCampaignsPagesWalkEveryRowExactlyOnce) {
  std::vector<int64_t> created;
  for (int i = 0; i < 6; ++i) created.push_back(Create(absl::StrCat("c", i)).id());
  auto walk = [&](int page_size) {
    std::vector<int64_t> seen;
    std::string token;
    int pages = 0;
    do {
      v1::ListCampaignsRequest request;
      request.set_page_size(page_size);
      request.set_page_token(token);
      const auto page = Must(store_->ListCampaigns(request), "ListCampaigns");
      EXPECT_LE(page.campaigns_size(), page_size == 0 ? store::kDefaultPageSize : page_size);
      for (const auto& campaign : page.campaigns()) seen.push_back(campaign.id());
      token = page.next_page_token();
      if (++pages > 100) break;
    } while (!token.empty());
    return std::make_pair(seen, pages);
  };
  // An exact multiple of the page size: the last full page says "no more".
  auto [seen, pages] = walk(3);
  EXPECT_EQ(seen, created);
  EXPECT_EQ(pages, 2);

  created.push_back(Create("c6").id());
  std::tie(seen, pages) = walk(3);
  EXPECT_EQ(seen, created);
  EXPECT_EQ(pages, 3);
  std::tie(seen, pages) = walk(1);
  EXPECT_EQ(seen, created);
  std::tie(seen, pages) = walk(0);  // default page size: one page
  EXPECT_EQ(seen, created);
  EXPECT_EQ(pages, 1);

  v1::ListCampaignsRequest bad;
  bad.set_page_token("not-a-token");
  EXPECT_EQ(store_->ListCampaigns(bad).status().code(), StatusCode::kInvalidArgument);
  bad.set_page_token("");
  bad.set_page_size(1001);
  EXPECT_EQ(store_->ListCampaigns(bad).status().code(), StatusCode::kInvalidArgument);
}

// --- applying ------------------------------------------------------------------

TEST_F(StoreTest, ApplyStoresAPendingApplication) {
  const v1::Campaign campaign = Create("apply", 2);
  const v1::Application application = Apply(campaign.id(), "alice");
  EXPECT_GT(application.id(), 0);
  EXPECT_EQ(application.campaign_id(), campaign.id());
  EXPECT_EQ(application.user_id(), "alice");
  EXPECT_EQ(application.status(), v1::APPLICATION_STATUS_PENDING);
  EXPECT_EQ(application.reason(), v1::REJECTION_REASON_UNSPECIFIED);
  EXPECT_GT(application.create_time().seconds(), 0);
  EXPECT_EQ(Get(application.id()).SerializeAsString(), application.SerializeAsString());
  EXPECT_EQ(store_->GetApplication(987654).status().code(), StatusCode::kNotFound);
}

TEST_F(StoreTest, ApplyToUnknownCampaignIsNotFound) {
  const auto result = TryApply(123456, "alice");
  EXPECT_EQ(result.status().code(), StatusCode::kNotFound) << result.status();
  EXPECT_EQ(Scalar("SELECT count(*) FROM applications"), 0);
  EXPECT_EQ(TryApply(0, "alice").status().code(), StatusCode::kInvalidArgument);
}

TEST_F(StoreTest, DuplicateApplyIsAlreadyExistsNamingTheExistingApplication) {
  const v1::Campaign campaign = Create("dup", 5);
  const v1::Application first = Apply(campaign.id(), "bob");
  const auto again = TryApply(campaign.id(), "bob");
  ASSERT_EQ(again.status().code(), StatusCode::kAlreadyExists) << again.status();
  EXPECT_TRUE(absl::StrContains(again.status().message(), absl::StrCat("application ", first.id())))
      << again.status();
  EXPECT_EQ(CountApplications(campaign.id()), 1);
  // Still ALREADY_EXISTS once decided; another campaign is another matter.
  DecideAll(campaign.id());
  EXPECT_EQ(TryApply(campaign.id(), "bob").status().code(), StatusCode::kAlreadyExists);
  const v1::Campaign other = Create("other");
  EXPECT_TRUE(TryApply(other.id(), "bob").ok());
  EXPECT_EQ(CountApplications(campaign.id()), 1);
}

TEST_F(StoreTest, ConcurrentDuplicateAppliesStoreExactlyOneRow) {
  const v1::Campaign campaign = Create("race", 100);
  constexpr int kThreads = 8;
  constexpr int kUsers = 20;
  std::atomic<int> ok{0}, exists{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      // Every thread applies every user: all but one attempt per user lose.
      for (int u = 0; u < kUsers; ++u) {
        const auto result = TryApply(campaign.id(), absl::StrCat("user-", u));
        if (result.ok()) {
          ++ok;
        } else if (result.status().code() == StatusCode::kAlreadyExists) {
          ++exists;
        } else {
          ++other;
          ADD_FAILURE() << result.status();
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), kUsers);
  EXPECT_EQ(exists.load(), kUsers * (kThreads - 1));
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(CountApplications(campaign.id()), kUsers);
}

TEST_F(StoreTest, ApplyToClosedCampaignIsFailedPrecondition) {
  const v1::Campaign campaign = Create("closed", 5);
  Must(store_->CloseCampaign(campaign.id()), "CloseCampaign");
  const auto result = TryApply(campaign.id(), "carol");
  EXPECT_EQ(result.status().code(), StatusCode::kFailedPrecondition) << result.status();
  EXPECT_EQ(CountApplications(campaign.id()), 0);
}

TEST_F(StoreTest, BadUserIdsAreInvalidAndNothingIsStored) {
  const v1::Campaign campaign = Create("users");
  for (const std::string& user_id :
       {std::string(), std::string(129, 'u'), std::string("new\nline"), std::string("\x01"),
        std::string("a\x7f"), std::string("\xff")}) {
    const auto result = TryApply(campaign.id(), user_id);
    EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument)
        << "user_id of " << user_id.size() << " bytes: " << result.status();
  }
  EXPECT_EQ(CountApplications(campaign.id()), 0);
  // The limits agree with the database's CHECK: 128 characters of two bytes.
  std::string accented;
  for (int i = 0; i < 128; ++i) accented += "\xc3\xa9";
  EXPECT_EQ(Apply(campaign.id(), accented).user_id(), accented);
  EXPECT_EQ(Apply(campaign.id(), std::string(128, 'u')).user_id(), std::string(128, 'u'));
  EXPECT_EQ(CountApplications(campaign.id()), 2);
}

TEST_F(StoreTest, ListApplicationsPagesAndFilters) {
  const v1::Campaign a = Create("a", 2);
  const v1::Campaign b = Create("b");
  const v1::Campaign c = Create("c", 1);
  std::vector<int64_t> a_ids, c_ids, all_ids;
  for (int i = 0; i < 5; ++i) {
    a_ids.push_back(Apply(a.id(), absl::StrCat("a", i)).id());
    all_ids.push_back(a_ids.back());
    all_ids.push_back(Apply(b.id(), absl::StrCat("b", i)).id());
    c_ids.push_back(Apply(c.id(), absl::StrCat("c", i)).id());
    all_ids.push_back(c_ids.back());
  }
  DecideAll(a.id());  // a0, a1 approved; a2..a4 waitlisted; b's stay pending
  DecideAll(c.id());  // c0 approved; c1..c4 waitlisted, then c4 cancelled
  Must(store_->CancelApplication(c_ids[4]), "Cancel");

  auto walk = [&](int64_t campaign_id, v1::ApplicationStatus status, int page_size) {
    std::vector<int64_t> seen;
    std::string token;
    int pages = 0;
    do {
      v1::ListApplicationsRequest request;
      request.set_campaign_id(campaign_id);
      request.set_status(status);
      request.set_page_size(page_size);
      request.set_page_token(token);
      const auto page = Must(store_->ListApplications(request), "ListApplications");
      EXPECT_LE(page.applications_size(), page_size);
      for (const auto& application : page.applications()) {
        if (campaign_id != 0) {
          EXPECT_EQ(application.campaign_id(), campaign_id);
        }
        if (status != v1::APPLICATION_STATUS_UNSPECIFIED) {
          EXPECT_EQ(application.status(), status);
        }
        seen.push_back(application.id());
      }
      token = page.next_page_token();
      if (++pages > 100) break;
    } while (!token.empty());
    return seen;
  };
  EXPECT_EQ(walk(0, v1::APPLICATION_STATUS_UNSPECIFIED, 3), all_ids);
  EXPECT_EQ(walk(0, v1::APPLICATION_STATUS_UNSPECIFIED, 1), all_ids);
  EXPECT_EQ(walk(a.id(), v1::APPLICATION_STATUS_UNSPECIFIED, 2), a_ids);
  EXPECT_EQ(walk(a.id(), v1::APPLICATION_STATUS_APPROVED, 1),
            std::vector<int64_t>(a_ids.begin(), a_ids.begin() + 2));
  // Waitlisted across campaigns (its own statement): both waitlists merged
  // in id order, on every page size.
  const std::vector<int64_t> waitlisted = {c_ids[1], a_ids[2], c_ids[2],
                                           a_ids[3], c_ids[3], a_ids[4]};
  EXPECT_EQ(walk(0, v1::APPLICATION_STATUS_WAITLISTED, 2), waitlisted);
  EXPECT_EQ(walk(0, v1::APPLICATION_STATUS_WAITLISTED, 1), waitlisted);
  EXPECT_EQ(walk(0, v1::APPLICATION_STATUS_WAITLISTED, 100), waitlisted);
  EXPECT_EQ(walk(0, v1::APPLICATION_STATUS_CANCELLED, 1), std::vector<int64_t>{c_ids[4]});
  EXPECT_EQ(walk(c.id(), v1::APPLICATION_STATUS_CANCELLED, 1), std::vector<int64_t>{c_ids[4]});
  v1::ListApplicationsRequest mine;
  mine.set_status(v1::APPLICATION_STATUS_WAITLISTED);
  mine.set_user_id("c3");
  const auto own = Must(store_->ListApplications(mine), "ListApplications");
  ASSERT_EQ(own.applications_size(), 1);
  EXPECT_EQ(own.applications(0).id(), c_ids[3]);
  EXPECT_EQ(walk(b.id(), v1::APPLICATION_STATUS_PENDING, 2).size(), 5u);
  EXPECT_TRUE(walk(b.id(), v1::APPLICATION_STATUS_APPROVED, 2).empty());

  v1::ListApplicationsRequest bad;
  bad.set_status(static_cast<v1::ApplicationStatus>(42));
  EXPECT_EQ(store_->ListApplications(bad).status().code(), StatusCode::kInvalidArgument);
  bad.Clear();
  bad.set_campaign_id(-1);
  EXPECT_EQ(store_->ListApplications(bad).status().code(), StatusCode::kInvalidArgument);
  bad.Clear();
  bad.set_page_token("zzz");
  EXPECT_EQ(store_->ListApplications(bad).status().code(), StatusCode::kInvalidArgument);
}

// --- deciding, closing, cancelling ------------------------------------------

TEST_F(StoreTest, WorkerDecisionsFillTheCapThenWaitlistOrReject) {
  const v1::Campaign waitlisted = Create("with waitlist", 2, true);
  const v1::Campaign rejecting = Create("no waitlist", 2, false);
  std::vector<int64_t> w, r;
  for (int i = 0; i < 5; ++i) {
    w.push_back(Apply(waitlisted.id(), absl::StrCat("u", i)).id());
    r.push_back(Apply(rejecting.id(), absl::StrCat("u", i)).id());
  }
  EXPECT_EQ(DecideAll(waitlisted.id()), 5);
  EXPECT_EQ(DecideAll(rejecting.id()), 5);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(Get(w[i]).status(),
              i < 2 ? v1::APPLICATION_STATUS_APPROVED : v1::APPLICATION_STATUS_WAITLISTED);
    const v1::Application rejected = Get(r[i]);
    EXPECT_EQ(rejected.status(),
              i < 2 ? v1::APPLICATION_STATUS_APPROVED : v1::APPLICATION_STATUS_REJECTED);
    EXPECT_EQ(rejected.reason(),
              i < 2 ? v1::REJECTION_REASON_UNSPECIFIED : v1::REJECTION_REASON_CAMPAIGN_FULL);
    EXPECT_GT(rejected.decide_time().seconds(), 0);
  }
  ExpectSeatsConsistent(waitlisted.id());
  ExpectSeatsConsistent(rejecting.id());
}

TEST_F(StoreTest, CloseCampaignRejectsPendingAndWaitlistedAsCampaignClosed) {
  const v1::Campaign campaign = Create("closing", 1, true);
  const int64_t approved = Apply(campaign.id(), "u0").id();
  const int64_t waitlisted1 = Apply(campaign.id(), "u1").id();
  const int64_t waitlisted2 = Apply(campaign.id(), "u2").id();
  DecideAll(campaign.id());
  const int64_t pending = Apply(campaign.id(), "u3").id();
  ASSERT_EQ(Get(waitlisted1).status(), v1::APPLICATION_STATUS_WAITLISTED);

  const v1::Campaign closed = Must(store_->CloseCampaign(campaign.id()), "CloseCampaign");
  EXPECT_EQ(closed.status(), v1::CAMPAIGN_STATUS_CLOSED);
  EXPECT_GT(closed.close_time().seconds(), 0);
  EXPECT_EQ(Get(approved).status(), v1::APPLICATION_STATUS_APPROVED);
  for (int64_t id : {waitlisted1, waitlisted2, pending}) {
    const v1::Application application = Get(id);
    EXPECT_EQ(application.status(), v1::APPLICATION_STATUS_REJECTED) << id;
    EXPECT_EQ(application.reason(), v1::REJECTION_REASON_CAMPAIGN_CLOSED) << id;
    EXPECT_GT(application.decide_time().seconds(), 0) << id;
  }
  EXPECT_EQ(GetCampaign(campaign.id()).approved_count(), 1);
  ExpectSeatsConsistent(campaign.id());
  EXPECT_EQ(DecideAll(campaign.id()), 0);  // nothing left for a worker

  // Idempotent: same close time, nothing changes.
  const v1::Campaign again = Must(store_->CloseCampaign(campaign.id()), "CloseCampaign again");
  EXPECT_EQ(again.SerializeAsString(), closed.SerializeAsString());
  EXPECT_EQ(TryApply(campaign.id(), "u4").status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(StoreTest, CancellingAnApprovedApplicationPromotesTheOldestWaitlisted) {
  const v1::Campaign campaign = Create("cancel", 2, true);
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(Apply(campaign.id(), absl::StrCat("u", i)).id());
  DecideAll(campaign.id());  // u0 u1 approved; u2 u3 u4 waitlisted

  const v1::Application cancelled = Must(store_->CancelApplication(ids[0]), "Cancel u0");
  EXPECT_EQ(cancelled.status(), v1::APPLICATION_STATUS_CANCELLED);
  EXPECT_EQ(cancelled.reason(), v1::REJECTION_REASON_UNSPECIFIED);
  EXPECT_EQ(Get(ids[2]).status(), v1::APPLICATION_STATUS_APPROVED);  // the oldest waitlisted
  EXPECT_EQ(Get(ids[3]).status(), v1::APPLICATION_STATUS_WAITLISTED);
  EXPECT_EQ(Get(ids[4]).status(), v1::APPLICATION_STATUS_WAITLISTED);
  EXPECT_EQ(GetCampaign(campaign.id()).approved_count(), 2);
  ExpectSeatsConsistent(campaign.id());

  // Cancelling a waitlisted one frees no seat and promotes nobody.
  EXPECT_EQ(Must(store_->CancelApplication(ids[3]), "Cancel u3").status(),
            v1::APPLICATION_STATUS_CANCELLED);
  EXPECT_EQ(Get(ids[4]).status(), v1::APPLICATION_STATUS_WAITLISTED);
  EXPECT_EQ(GetCampaign(campaign.id()).approved_count(), 2);

  // The promoted one gives up its seat: u4 (now the oldest waitlisted) gets it.
  Must(store_->CancelApplication(ids[2]), "Cancel u2");
  EXPECT_EQ(Get(ids[4]).status(), v1::APPLICATION_STATUS_APPROVED);
  EXPECT_EQ(GetCampaign(campaign.id()).approved_count(), 2);
  ExpectSeatsConsistent(campaign.id());

  // Waitlist empty: cancelling frees the seat and the count drops.
  Must(store_->CancelApplication(ids[1]), "Cancel u1");
  EXPECT_EQ(GetCampaign(campaign.id()).approved_count(), 1);
  ExpectSeatsConsistent(campaign.id());
  // ... and the next applicant takes it.
  const int64_t late = Apply(campaign.id(), "late").id();
  DecideAll(campaign.id());
  EXPECT_EQ(Get(late).status(), v1::APPLICATION_STATUS_APPROVED);
  EXPECT_EQ(GetCampaign(campaign.id()).approved_count(), 2);
  ExpectSeatsConsistent(campaign.id());

  // Cancelling a cancelled application returns it unchanged.
  const v1::Application twice = Must(store_->CancelApplication(ids[0]), "Cancel u0 again");
  EXPECT_EQ(twice.SerializeAsString(), Get(ids[0]).SerializeAsString());
  EXPECT_EQ(twice.status(), v1::APPLICATION_STATUS_CANCELLED);
}

TEST_F(StoreTest, CancellingPendingTakesItOutOfTheQueue) {
  const v1::Campaign campaign = Create("cancel pending", 1, true);
  const int64_t first = Apply(campaign.id(), "first").id();
  const int64_t second = Apply(campaign.id(), "second").id();
  EXPECT_EQ(Must(store_->CancelApplication(first), "Cancel").status(),
            v1::APPLICATION_STATUS_CANCELLED);
  EXPECT_EQ(DecideAll(campaign.id()), 1);
  EXPECT_EQ(Get(first).status(), v1::APPLICATION_STATUS_CANCELLED);
  EXPECT_EQ(Get(second).status(), v1::APPLICATION_STATUS_APPROVED);
  ExpectSeatsConsistent(campaign.id());
}

TEST_F(StoreTest, CancellingRejectedIsFailedPreconditionAndUnknownNotFound) {
  const v1::Campaign campaign = Create("full", 1, false);
  Apply(campaign.id(), "in");
  const int64_t out = Apply(campaign.id(), "out").id();
  DecideAll(campaign.id());
  ASSERT_EQ(Get(out).status(), v1::APPLICATION_STATUS_REJECTED);
  EXPECT_EQ(store_->CancelApplication(out).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Get(out).status(), v1::APPLICATION_STATUS_REJECTED);
  EXPECT_EQ(store_->CancelApplication(555555).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->CancelApplication(0).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(StoreTest, CancellingApprovedOfClosedCampaignPromotesNobody) {
  const v1::Campaign campaign = Create("closed cancel", 1, true);
  const int64_t approved = Apply(campaign.id(), "a").id();
  const int64_t waitlisted = Apply(campaign.id(), "w").id();
  DecideAll(campaign.id());
  Must(store_->CloseCampaign(campaign.id()), "Close");
  Must(store_->CancelApplication(approved), "Cancel");
  EXPECT_EQ(Get(waitlisted).status(), v1::APPLICATION_STATUS_REJECTED);
  EXPECT_EQ(GetCampaign(campaign.id()).approved_count(), 0);
  ExpectSeatsConsistent(campaign.id());
}

// --- queue stats -------------------------------------------------------------------

TEST_F(StoreTest, QueueStatsCountEveryStatus) {
  const v1::Campaign decided = Create("decided", 1, true);
  const v1::Campaign full = Create("full", 1, false);
  const v1::Campaign waiting = Create("waiting");
  const int64_t approved = Apply(decided.id(), "a").id();
  Apply(decided.id(), "w1");
  Apply(decided.id(), "w2");
  Apply(full.id(), "a");
  Apply(full.id(), "r");
  for (int i = 0; i < 4; ++i) Apply(waiting.id(), absl::StrCat("p", i));
  DecideAll(decided.id());
  DecideAll(full.id());
  Must(store_->CancelApplication(approved), "Cancel");  // promotes w1

  const v1::QueueStats stats = Must(store_->GetQueueStats(std::chrono::hours(1)), "GetQueueStats");
  EXPECT_EQ(stats.pending(), 4);
  EXPECT_EQ(stats.waitlisted(), 1);
  EXPECT_EQ(stats.approved(), 2);  // w1 (promoted), full's "a"
  EXPECT_EQ(stats.rejected(), 1);  // full's "r"
  EXPECT_EQ(stats.cancelled(), 1);
  EXPECT_EQ(stats.failed(), 0);
  EXPECT_EQ(stats.decided(), stats.approved() + stats.rejected() + stats.cancelled());
  EXPECT_GE(
      stats.oldest_pending_age().seconds() * 1000000 + stats.oldest_pending_age().nanos() / 1000,
      0);
  std::map<int64_t, v1::CampaignQueueStats> by_id;
  for (const auto& campaign : stats.campaigns()) by_id[campaign.campaign_id()] = campaign;
  ASSERT_EQ(by_id.size(), 3u);
  EXPECT_EQ(by_id[waiting.id()].pending(), 4);
  EXPECT_EQ(by_id[decided.id()].waitlisted(), 1);
  EXPECT_EQ(by_id[decided.id()].approved_count(), 1);
  EXPECT_EQ(by_id[full.id()].pending(), 0);
  EXPECT_TRUE(stats.stalled_campaign_ids().empty());  // nothing is an hour old

  // With a one-microsecond threshold the never-decided campaign is stalled;
  // the others have no pending work.
  const v1::QueueStats strict =
      Must(store_->GetQueueStats(std::chrono::microseconds(1)), "GetQueueStats");
  EXPECT_EQ(std::vector<int64_t>(strict.stalled_campaign_ids().begin(),
                                 strict.stalled_campaign_ids().end()),
            std::vector<int64_t>{waiting.id()});

  // Closed campaigns without pending work drop out of the per-campaign list.
  Must(store_->CloseCampaign(full.id()), "Close");
  const v1::QueueStats after = Must(store_->GetQueueStats(std::chrono::hours(1)), "GetQueueStats");
  for (const auto& campaign : after.campaigns()) EXPECT_NE(campaign.campaign_id(), full.id());
  EXPECT_EQ(store_->GetQueueStats(std::chrono::microseconds(0)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(store_->Ping().ok());
}

// --- group commit --------------------------------------------------------------

// One batch holding a new Apply, a repeat of an earlier one, an unknown
// campaign, a closed campaign and another new Apply: each gets its own
// outcome, and only the two new ones are stored.
TEST_F(StoreTest, QueueStatsPagesTheCampaignsAndRepeatsTheTotalsOnEveryPage) {
  std::vector<int64_t> listed;
  for (int i = 0; i < 5; ++i) listed.push_back(Create(absl::StrCat("open ", i), 1).id());
  const v1::Campaign closed = Create("closed", 1);
  Apply(closed.id(), "a");
  Apply(closed.id(), "b");
  DecideAll(closed.id());
  Must(store_->CloseCampaign(closed.id()), "Close");
  for (int i = 0; i < 3; ++i) Apply(listed[4], absl::StrCat("p", i));

  std::vector<int64_t> seen;
  store::StatsPage page;
  page.page_size = 2;
  int pages = 0;
  do {
    const v1::QueueStats stats =
        Must(store_->GetQueueStats(std::chrono::microseconds(1), page), "GetQueueStats");
    ++pages;
    EXPECT_LE(stats.campaigns_size(), 2);
    for (const auto& campaign : stats.campaigns()) seen.push_back(campaign.campaign_id());
    // Totals and stalled campaigns cover every campaign, on every page.
    EXPECT_EQ(stats.pending(), 3);
    EXPECT_EQ(stats.approved(), 1);
    EXPECT_EQ(stats.rejected(), 1);  // the closed campaign's "b", waitlisted then closed
    EXPECT_EQ(std::vector<int64_t>(stats.stalled_campaign_ids().begin(),
                                   stats.stalled_campaign_ids().end()),
              std::vector<int64_t>{listed[4]});
    page.page_token = stats.next_page_token();
  } while (!page.page_token.empty());
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, listed);  // each open campaign once, in id order; the closed one never

  page.page_size = 1001;
  EXPECT_EQ(store_->GetQueueStats(std::chrono::seconds(1), page).status().code(),
            StatusCode::kInvalidArgument);
  page = store::StatsPage();
  page.page_token = "not-a-token";
  EXPECT_EQ(store_->GetQueueStats(std::chrono::seconds(1), page).status().code(),
            StatusCode::kInvalidArgument);
}

// Retention deletes rows; the counters keep what was decided.
TEST_F(StoreTest, QueueStatsKeepCountingWhatRetentionDeleted) {
  const v1::Campaign campaign = Create("kept in the counts", 1, false);
  Apply(campaign.id(), "a");
  Apply(campaign.id(), "b");
  DecideAll(campaign.id());
  Must(store_->CloseCampaign(campaign.id()), "Close");
  pqxx::nontransaction(*sql_).exec_params(
      "UPDATE campaigns SET closed_at = now() - interval '2 hours' WHERE id = $1", campaign.id());
  Must(store_->RunMaintenanceTick(std::chrono::hours(1)), "RunMaintenanceTick");
  EXPECT_EQ(CountApplications(campaign.id()), 0);
  const v1::QueueStats stats = Must(store_->GetQueueStats(std::chrono::hours(1)), "GetQueueStats");
  EXPECT_EQ(stats.approved(), 1);
  EXPECT_EQ(stats.rejected(), 1);
  EXPECT_EQ(stats.decided(), 2);
}

TEST_F(StoreTest, GroupCommitEachApplyInABatchGetsItsOwnOutcome) {
  const int64_t open = Create("open", 10).id();
  const int64_t closed = Create("closed", 10).id();
  ASSERT_TRUE(store_->CloseCampaign(closed).ok());
  const v1::Application earlier = Apply(open, "earlier");

  store::ApplyBatcher batcher(pool_.get(), store::ApplyBatcher::Options());
  const auto outcomes = batcher.ApplyTogether(
      {{open, "first"}, {open, "earlier"}, {987654, "nobody"}, {closed, "late"}, {open, "second"}});
  ASSERT_EQ(outcomes.size(), 5u);
  ASSERT_TRUE(outcomes[0].ok()) << outcomes[0].status();
  EXPECT_EQ(outcomes[0]->user_id(), "first");
  EXPECT_EQ(outcomes[0]->status(), v1::APPLICATION_STATUS_PENDING);
  EXPECT_EQ(outcomes[1].status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(
      absl::StrContains(outcomes[1].status().message(), absl::StrCat("application ", earlier.id())))
      << outcomes[1].status();
  EXPECT_EQ(outcomes[2].status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(outcomes[3].status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(outcomes[4].ok()) << outcomes[4].status();
  EXPECT_EQ(outcomes[4]->user_id(), "second");
  EXPECT_LT(outcomes[0]->id(), outcomes[4]->id());  // written in arrival order
  EXPECT_EQ(CountApplications(open), 3);
  EXPECT_EQ(CountApplications(closed), 0);
}

// The batch travels as two array parameters: every printable user id,
// including the array syntax's own characters, is stored as sent, and each
// Apply of a batch larger than any fixed slot count keeps its own outcome.
TEST_F(StoreTest, GroupCommitAnyPrintableUserIdRoundTrips) {
  const int64_t open = Create("open").id();
  const int64_t closed = Create("closed").id();
  ASSERT_TRUE(store_->CloseCampaign(closed).ok());
  std::vector<store::ApplyBatcher::Applicant> applicants;
  for (char c = ' '; c <= '~'; ++c) applicants.push_back({open, std::string("u") + c + "x"});
  for (const char* id : {"\"", "\\", "\\\"", "a,b", "{}", "}{", " spaced ", "NULL", "日本", "é"}) {
    applicants.push_back({open, id});
  }
  applicants.push_back({closed, "NULL"});
  applicants.push_back({987654, "nobody"});

  store::ApplyBatcher batcher(pool_.get(), store::ApplyBatcher::Options());
  const auto outcomes = batcher.ApplyTogether(applicants);
  ASSERT_EQ(outcomes.size(), applicants.size());
  const size_t stored = applicants.size() - 2;
  for (size_t i = 0; i < stored; ++i) {
    ASSERT_TRUE(outcomes[i].ok()) << i << ": " << outcomes[i].status();
    EXPECT_EQ(outcomes[i]->user_id(), applicants[i].user_id);
    const v1::Application read = Must(store_->GetApplication(outcomes[i]->id()), "GetApplication");
    EXPECT_EQ(read.user_id(), applicants[i].user_id);
    if (i > 0) {
      EXPECT_LT(outcomes[i - 1]->id(), outcomes[i]->id());  // in input order
    }
  }
  EXPECT_EQ(outcomes[stored].status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(outcomes[stored + 1].status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(CountApplications(open), static_cast<int64_t>(stored));
}

// An Apply that makes the batch statement itself fail (here a trigger
// refuses it) fails alone: the batch falls back to one transaction each.
TEST_F(StoreTest, GroupCommitAnErrorReachesOnlyTheApplyThatCausesIt) {
  const int64_t campaign = Create("guarded", 10).id();
  {
    pqxx::work txn(*sql_);
    txn.exec(R"sql(
      CREATE FUNCTION test_refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.user_id = 'poison' THEN RAISE EXCEPTION 'poison refused'; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER test_refuse_poison BEFORE INSERT ON applications
        FOR EACH ROW EXECUTE FUNCTION test_refuse_poison();
    )sql");
    txn.commit();
  }
  store::ApplyBatcher batcher(pool_.get(), store::ApplyBatcher::Options());
  const auto outcomes =
      batcher.ApplyTogether({{campaign, "a"}, {campaign, "poison"}, {campaign, "b"}});
  ASSERT_EQ(outcomes.size(), 3u);
  EXPECT_TRUE(outcomes[0].ok()) << outcomes[0].status();
  EXPECT_FALSE(outcomes[1].ok());
  EXPECT_TRUE(absl::StrContains(outcomes[1].status().message(), "poison refused"))
      << outcomes[1].status();
  EXPECT_TRUE(outcomes[2].ok()) << outcomes[2].status();
  EXPECT_EQ(CountApplications(campaign), 2);
}

// A batch whose COMMIT outcome is lost (the session dies during COMMIT: here
// a deferred trigger terminates its own backend, once) answers UNKNOWN to
// every Apply in it and reruns none of them: a rerun could answer
// ALREADY_EXISTS or a false "not committed" for a row that is stored.
TEST_F(StoreTest, GroupCommitWithALostCommitAnswersUnknownAndRerunsNothing) {
  const int64_t campaign = Create("in-doubt", 10).id();
  {
    pqxx::work txn(*sql_);
    txn.exec(R"sql(
      CREATE SEQUENCE test_commit_kills;
      CREATE FUNCTION test_kill_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        -- nextval is not rolled back: only the first commit dies.
        IF nextval('test_commit_kills') = 1 THEN
          PERFORM pg_terminate_backend(pg_backend_pid());
          PERFORM pg_sleep(5);  -- the termination lands here
        END IF;
        RETURN NULL;
      END $$;
      CREATE CONSTRAINT TRIGGER test_kill_at_commit AFTER INSERT ON applications
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_kill_at_commit();
    )sql");
    txn.commit();
  }
  store::ApplyBatcher batcher(pool_.get(), store::ApplyBatcher::Options());
  const auto outcomes = batcher.ApplyTogether({{campaign, "a"}, {campaign, "b"}, {campaign, "c"}});
  ASSERT_EQ(outcomes.size(), 3u);
  for (const auto& outcome : outcomes) {
    EXPECT_EQ(outcome.status().code(), absl::StatusCode::kUnknown) << outcome.status();
  }
  EXPECT_EQ(Scalar("SELECT nextval('test_commit_kills')"), 2) << "a rerun was attempted";
  EXPECT_EQ(CountApplications(campaign), 0);  // the killed COMMIT did not happen
}

// A fault of the database under the whole batch (here "out of memory",
// raised by a trigger) reaches every caller as is, for them to retry; the
// batch is not rewritten one Apply at a time (each would wait out the same
// fault in turn).
TEST_F(StoreTest, GroupCommitATransientBatchFailureIsNotRewrittenApplyByApply) {
  const int64_t campaign = Create("transient", 10).id();
  {
    pqxx::work txn(*sql_);
    txn.exec(R"sql(
      CREATE SEQUENCE test_inserts_seen;
      CREATE FUNCTION test_transient() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM nextval('test_inserts_seen');
        RAISE EXCEPTION 'out of memory' USING ERRCODE = '53200';
      END $$;
      CREATE TRIGGER test_transient BEFORE INSERT ON applications
        FOR EACH ROW EXECUTE FUNCTION test_transient();
    )sql");
    txn.commit();
  }
  store::ApplyBatcher batcher(pool_.get(), store::ApplyBatcher::Options());
  const auto outcomes = batcher.ApplyTogether({{campaign, "a"}, {campaign, "b"}, {campaign, "c"}});
  for (const auto& outcome : outcomes) {
    EXPECT_EQ(outcome.status().code(), absl::StatusCode::kUnavailable) << outcome.status();
  }
  EXPECT_EQ(Scalar("SELECT nextval('test_inserts_seen')"), 2) << "rewritten Apply by Apply";
}

// Many concurrent Applies, a third of them repeats of another caller's
// user: every caller gets exactly one answer, exactly one row exists per
// user, and every OK answer names the stored row.
TEST_F(StoreTest, GroupCommitUnderConcurrencyStoresEachUserOnce) {
  const int64_t campaign = Create("crowd", 1000).id();
  constexpr int kCallers = 48;
  constexpr int kPerCaller = 20;
  std::vector<std::vector<absl::StatusOr<v1::Application>>> answers(kCallers);
  std::vector<std::thread> callers;
  for (int c = 0; c < kCallers; ++c) {
    callers.emplace_back([&, c] {
      for (int i = 0; i < kPerCaller; ++i) {
        // Callers c and c+1 (c even) share their user ids: duplicates race.
        const int owner = c - c % 2;
        answers[c].push_back(TryApply(campaign, absl::StrCat("user-", owner, "-", i)));
      }
    });
  }
  for (auto& caller : callers) caller.join();
  std::map<std::string, int64_t> stored_ids;
  for (const auto& row : pqxx::nontransaction(*sql_).exec_params(
           "SELECT user_id, id FROM applications WHERE campaign_id = $1", campaign)) {
    stored_ids[row[0].as<std::string>()] = row[1].as<int64_t>();
  }
  EXPECT_EQ(stored_ids.size(), static_cast<size_t>(kCallers / 2 * kPerCaller));
  int ok = 0;
  for (const auto& per_caller : answers) {
    for (const auto& answer : per_caller) {
      if (answer.ok()) {
        ++ok;
        EXPECT_EQ(stored_ids[answer->user_id()], answer->id());
      } else {
        EXPECT_EQ(answer.status().code(), absl::StatusCode::kAlreadyExists) << answer.status();
      }
    }
  }
  EXPECT_EQ(ok, kCallers / 2 * kPerCaller);  // one winner per user
}

// ApplyAsync answers every Apply exactly once, and only after its row is
// committed: when an OK answer arrives, another session already sees the
// row (the reply a server sends from this callback is durable). Repeats of
// a user get ALREADY_EXISTS, never a second row.
TEST_F(StoreTest, GroupCommitAnswersEachAsyncApplyOnceAfterItsCommit) {
  const int64_t campaign = Create("async", 1000).id();
  constexpr int kApplies = 200;
  constexpr int kUsers = 150;  // users 0..49 apply twice
  store::ApplyBatcher batcher(pool_.get(), store::ApplyBatcher::Options());
  const std::unique_ptr<db::Connection> observer = MustConnect(url_);
  std::mutex mutex;
  std::condition_variable answered_all;
  int answered = 0;
  int visible_when_answered = 0;
  std::vector<std::optional<absl::StatusOr<v1::Application>>> answers(kApplies);
  for (int i = 0; i < kApplies; ++i) {
    batcher.ApplyAsync(campaign, absl::StrCat("user-", i % kUsers), absl::InfiniteFuture(),
                       [&, i](absl::StatusOr<v1::Application> answer) {
                         std::lock_guard<std::mutex> lock(mutex);
                         if (answer.ok()) {
                           pqxx::nontransaction txn(*observer);
                           visible_when_answered +=
                               txn.exec_params("SELECT count(*) FROM applications WHERE id = $1",
                                               answer->id())[0][0]
                                   .as<int>();
                         }
                         EXPECT_FALSE(answers[i].has_value()) << "answered twice: " << i;
                         answers[i] = std::move(answer);
                         ++answered;
                         answered_all.notify_one();
                       });
  }
  {
    std::unique_lock<std::mutex> lock(mutex);
    answered_all.wait(lock, [&] { return answered == kApplies; });
  }
  int ok = 0;
  for (const auto& answer : answers) {
    ASSERT_TRUE(answer.has_value());
    if (answer->ok()) {
      ++ok;
    } else {
      EXPECT_EQ(answer->status().code(), StatusCode::kAlreadyExists) << answer->status();
    }
  }
  EXPECT_EQ(ok, kUsers);
  EXPECT_EQ(visible_when_answered, kUsers);
  EXPECT_EQ(CountApplications(campaign), kUsers);
}

// While every writer is busy (here the only one, its batch waiting for a
// lock on its campaign), a queued Apply whose deadline passes leaves the
// queue with DEADLINE_EXCEEDED and is never written; the busy batch still
// commits once the lock is released.
TEST_F(StoreTest, GroupCommitAQueuedApplyLeavesAtItsDeadlineWhileTheWritersAreBusy) {
  const int64_t locked = Create("locked", 10).id();
  const int64_t other = Create("other", 10).id();
  store::ApplyBatcher::Options options;
  options.max_writers = 1;
  store::ApplyBatcher batcher(pool_.get(), options);
  CampaignRowHold hold(url_, locked);

  std::mutex mutex;
  std::condition_variable answered;
  std::optional<absl::StatusOr<v1::Application>> first;
  batcher.ApplyAsync(locked, "first", absl::InfiniteFuture(),
                     [&](absl::StatusOr<v1::Application> answer) {
                       std::lock_guard<std::mutex> lock(mutex);
                       first = std::move(answer);
                       answered.notify_one();
                     });
  AwaitAWriterWaitingForALock();
  const absl::StatusOr<v1::Application> late =
      batcher.Apply(other, "late", absl::Now() + absl::Milliseconds(200));
  EXPECT_EQ(late.status().code(), StatusCode::kDeadlineExceeded) << late.status();
  {
    std::lock_guard<std::mutex> lock(mutex);
    EXPECT_FALSE(first.has_value()) << "the writer was not busy";
  }
  hold.Release();
  {
    std::unique_lock<std::mutex> lock(mutex);
    answered.wait(lock, [&] { return first.has_value(); });
  }
  EXPECT_TRUE(first->ok()) << first->status();
  EXPECT_EQ(CountApplications(locked), 1);
  EXPECT_EQ(CountApplications(other), 0);
}

// Nothing holds a thread while it waits, so the queue itself is bounded.
TEST_F(StoreTest, GroupCommitRefusesApplyBeyondTheQueueBoundAndStoresNothing) {
  const int64_t locked = Create("locked", 10).id();
  store::ApplyBatcher::Options options;
  options.max_writers = 1;
  options.max_queued = 1;
  store::ApplyBatcher batcher(pool_.get(), options);
  CampaignRowHold hold(url_, locked);

  std::mutex mutex;
  std::condition_variable answered;
  std::vector<absl::StatusOr<v1::Application>> answers;
  auto record = [&](absl::StatusOr<v1::Application> answer) {
    std::lock_guard<std::mutex> lock(mutex);
    answers.push_back(std::move(answer));
    answered.notify_one();
  };
  batcher.ApplyAsync(locked, "writing", absl::InfiniteFuture(), record);
  AwaitAWriterWaitingForALock();
  batcher.ApplyAsync(locked, "queued", absl::InfiniteFuture(), record);  // the one queued
  const absl::StatusOr<v1::Application> refused = batcher.Apply(locked, "one too many");
  EXPECT_EQ(refused.status().code(), StatusCode::kResourceExhausted) << refused.status();
  hold.Release();
  {
    std::unique_lock<std::mutex> lock(mutex);
    answered.wait(lock, [&] { return answers.size() == 2; });
  }
  for (const auto& answer : answers) EXPECT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(CountApplications(locked), 2);
}

// Collects ApplyAsync answers by name, for tests that queue several. Declare
// it before the batcher, so that the batcher (which may still answer while
// it stops) goes first.
class AsyncAnswers {
 public:
  store::ApplyBatcher::Done For(const std::string& name) {
    return [this, name](absl::StatusOr<v1::Application> answer) {
      std::lock_guard<std::mutex> lock(mutex_);
      answers_[name].push_back(std::move(answer));
      changed_.notify_all();
    };
  }
  // Whether `count` answers named `name` arrived within `timeout`.
  bool Await(const std::string& name, size_t count = 1,
             absl::Duration timeout = absl::Seconds(30)) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, absl::ToChronoSeconds(timeout),
                             [&] { return answers_[name].size() >= count; });
  }
  std::vector<absl::StatusOr<v1::Application>> Get(const std::string& name) {
    std::lock_guard<std::mutex> lock(mutex_);
    return answers_[name];
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, std::vector<absl::StatusOr<v1::Application>>> answers_;
};

// Counts the rows PostgreSQL was asked to insert for the user "copy" in
// the sequence test_insert_attempts (a BEFORE INSERT trigger fires for a
// row that then conflicts too; a sequence is not rolled back).
void CountInsertAttemptsOfCopy(db::Connection& sql) {
  pqxx::work txn(sql);
  txn.exec(R"sql(
      CREATE SEQUENCE test_insert_attempts;
      CREATE FUNCTION test_count_attempts() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.user_id = 'copy' THEN PERFORM nextval('test_insert_attempts'); END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER test_count_attempts BEFORE INSERT ON applications
        FOR EACH ROW EXECUTE FUNCTION test_count_attempts();
    )sql");
  txn.commit();
}

// One writer, busy writing "first" to a campaign whose row is held, while
// the test queues Applies to a second held campaign behind it: the writer's
// next batch takes them all and waits for the second hold with them, within
// 1 s of their queueing (the short deadline the test may give one of them).
class GroupCommitCutTest : public StoreTest {
 protected:
  void QueueBehindTheBusyWriter(const std::function<void(absl::Time short_deadline)>& queue) {
    const int64_t busy = Create("busy", 10).id();
    locked_ = Create("locked", 10).id();
    store::ApplyBatcher::Options options;
    options.max_writers = 1;
    batcher_ = std::make_unique<store::ApplyBatcher>(pool_.get(), options);
    CampaignRowHold busy_hold(url_, busy);
    locked_hold_ = std::make_unique<CampaignRowHold>(url_, locked_);
    batcher_->ApplyAsync(busy, "first", absl::InfiniteFuture(), answers_.For("first"));
    AwaitAWriterWaitingForALock();
    const absl::Time short_deadline = absl::Now() + absl::Seconds(1);
    queue(short_deadline);
    busy_hold.Release();
    ASSERT_TRUE(answers_.Await("first"));
    AwaitAWriterWaitingForALock();
    // The batch waiting now was taken before the short deadline passed.
    ASSERT_LT(absl::Now(), short_deadline) << "too slow to batch them before the deadline";
  }

  int64_t locked_ = 0;
  AsyncAnswers answers_;
  std::unique_ptr<store::ApplyBatcher> batcher_;
  // Released before the batcher's destructor writes what is still queued.
  std::unique_ptr<CampaignRowHold> locked_hold_;
};

// An Apply is never stored after its deadline passed: a batch's statements
// are bounded by the earliest deadline among its Applies. When that passes
// first, the batch is rolled back, the Apply whose deadline passed gets
// DEADLINE_EXCEEDED at once (nothing stored, as it is told) and the others
// are written again without it.
TEST_F(GroupCommitCutTest, AnApplyWhoseDeadlinePassesInItsBatchIsNotStored) {
  ASSERT_NO_FATAL_FAILURE(QueueBehindTheBusyWriter([&](absl::Time short_deadline) {
    batcher_->ApplyAsync(locked_, "short", short_deadline, answers_.For("short"));
    batcher_->ApplyAsync(locked_, "long", absl::InfiniteFuture(), answers_.For("long"));
  }));
  // Within the hold connection's idle_in_transaction_session_timeout.
  const bool answered_while_locked = answers_.Await("short", 1, absl::Seconds(5));
  locked_hold_->Release();
  ASSERT_TRUE(answers_.Await("short"));
  ASSERT_TRUE(answers_.Await("long"));
  EXPECT_TRUE(answered_while_locked) << "answered only once its batch committed";
  EXPECT_EQ(answers_.Get("short")[0].status().code(), StatusCode::kDeadlineExceeded)
      << answers_.Get("short")[0].status();
  EXPECT_TRUE(answers_.Get("long")[0].ok()) << answers_.Get("long")[0].status();
  EXPECT_EQ(pqxx::nontransaction(*sql_)
                .exec_params("SELECT count(*) FROM applications "
                             "WHERE campaign_id = $1 AND user_id = 'short'",
                             locked_)[0][0]
                .as<int64_t>(),
            0)
      << "stored although its caller was told DEADLINE_EXCEEDED";
  EXPECT_EQ(CountApplications(locked_), 1);
}

// A copy of an Apply whose batch is cut at that Apply's deadline is not
// answered from it (DEADLINE_EXCEEDED says nothing about the copy): it is
// written itself, in the rewrite of the same batch.
TEST_F(GroupCommitCutTest, ACopyOfAnApplyCutAtItsDeadlineIsWrittenInItsPlace) {
  ASSERT_NO_FATAL_FAILURE(QueueBehindTheBusyWriter([&](absl::Time short_deadline) {
    batcher_->ApplyAsync(locked_, "user", short_deadline, answers_.For("short"));
    batcher_->ApplyAsync(locked_, "user", absl::InfiniteFuture(), answers_.For("copy"));
  }));
  ASSERT_TRUE(answers_.Await("short", 1, absl::Seconds(5)));
  EXPECT_EQ(answers_.Get("short")[0].status().code(), StatusCode::kDeadlineExceeded)
      << answers_.Get("short")[0].status();
  AwaitAWriterWaitingForALock();  // the rewrite, for the copy
  EXPECT_TRUE(answers_.Get("copy").empty()) << "answered from its twin's DEADLINE_EXCEEDED";
  locked_hold_->Release();
  ASSERT_TRUE(answers_.Await("copy"));
  ASSERT_TRUE(answers_.Get("copy")[0].ok()) << answers_.Get("copy")[0].status();
  EXPECT_EQ(CountApplications(locked_), 1);
}

// Copies of one Apply (same campaign and user) waiting together are written
// once; every other copy answers what it would have had it been written
// right after: ALREADY_EXISTS naming the stored application.
TEST_F(StoreTest, GroupCommitWritesWaitingCopiesOfOneApplyOnce) {
  const int64_t busy = Create("busy", 10).id();
  const int64_t target = Create("target", 10).id();
  CountInsertAttemptsOfCopy(*sql_);
  store::ApplyBatcher::Options options;
  options.max_writers = 1;
  AsyncAnswers answers;
  store::ApplyBatcher batcher(pool_.get(), options);
  CampaignRowHold busy_hold(url_, busy);

  batcher.ApplyAsync(busy, "first", absl::InfiniteFuture(), answers.For("first"));
  AwaitAWriterWaitingForALock();
  constexpr int kCopies = 40;
  for (int i = 0; i < kCopies; ++i) {
    batcher.ApplyAsync(target, "copy", absl::InfiniteFuture(), answers.For("copy"));
  }
  busy_hold.Release();
  ASSERT_TRUE(answers.Await("copy", kCopies));
  const auto copies = answers.Get("copy");
  const auto stored =
      std::find_if(copies.begin(), copies.end(), [](const auto& answer) { return answer.ok(); });
  ASSERT_NE(stored, copies.end());
  for (const auto& answer : copies) {
    if (answer.ok()) {
      EXPECT_EQ(answer->id(), (*stored)->id());
      continue;
    }
    EXPECT_EQ(answer.status().code(), StatusCode::kAlreadyExists) << answer.status();
    EXPECT_TRUE(absl::StrContains(answer.status().message(),
                                  absl::StrCat("application ", (*stored)->id(), " is pending")))
        << answer.status();
  }
  EXPECT_EQ(
      std::count_if(copies.begin(), copies.end(), [](const auto& answer) { return answer.ok(); }),
      1);
  EXPECT_EQ(Scalar("SELECT nextval('test_insert_attempts')") - 1, 1) << "a copy was written";
  EXPECT_EQ(CountApplications(target), 1);
}

// One caller's Applies take at most its share of the queue (alone: half),
// copies included: beyond it they are refused, and another caller still
// gets in.
TEST_F(StoreTest, GroupCommitOneCallerCannotFillTheQueue) {
  const int64_t busy = Create("busy", 10).id();
  const int64_t target = Create("target", 10).id();
  store::ApplyBatcher::Options options;
  options.max_writers = 1;
  options.max_queued = 8;
  AsyncAnswers answers;
  store::ApplyBatcher batcher(pool_.get(), options);
  CampaignRowHold busy_hold(url_, busy);

  batcher.ApplyAsync(busy, "first", absl::InfiniteFuture(), answers.For("first"), "flooder");
  AwaitAWriterWaitingForALock();
  for (int i = 0; i < options.max_queued; ++i) {
    batcher.ApplyAsync(target, "flood", absl::InfiniteFuture(), answers.For("flood"), "flooder");
  }
  // Refused at once, while the writer is still busy.
  ASSERT_TRUE(answers.Await("flood", options.max_queued / 2, absl::Seconds(5)))
      << "the copies beyond the caller's share were not refused";
  batcher.ApplyAsync(target, "other", absl::InfiniteFuture(), answers.For("other"), "bystander");
  busy_hold.Release();
  ASSERT_TRUE(answers.Await("other"));
  ASSERT_TRUE(answers.Await("flood", options.max_queued));
  EXPECT_TRUE(answers.Get("other")[0].ok()) << answers.Get("other")[0].status();
  std::map<StatusCode, int> codes;
  for (const auto& answer : answers.Get("flood")) {
    ++codes[answer.status().code()];
    if (answer.status().code() == StatusCode::kResourceExhausted) {
      EXPECT_TRUE(absl::StrContains(answer.status().message(), "its share")) << answer.status();
    }
  }
  EXPECT_EQ(codes[StatusCode::kResourceExhausted], options.max_queued / 2);
  EXPECT_EQ(codes[StatusCode::kOk], 1);
  EXPECT_EQ(codes[StatusCode::kAlreadyExists], options.max_queued / 2 - 1);
  EXPECT_EQ(CountApplications(target), 2);
}

// A copy waiting on a twin that leaves the queue at its deadline takes the
// twin's place: it is written (and answered) as if it had been alone.
TEST_F(StoreTest, GroupCommitACopyOutlivesItsExpiredTwin) {
  const int64_t busy = Create("busy", 10).id();
  const int64_t target = Create("target", 10).id();
  store::ApplyBatcher::Options options;
  options.max_writers = 1;
  AsyncAnswers answers;
  store::ApplyBatcher batcher(pool_.get(), options);
  CampaignRowHold busy_hold(url_, busy);

  batcher.ApplyAsync(busy, "first", absl::InfiniteFuture(), answers.For("first"));
  AwaitAWriterWaitingForALock();
  batcher.ApplyAsync(target, "user", absl::Now() + absl::Milliseconds(100), answers.For("twin"));
  batcher.ApplyAsync(target, "user", absl::InfiniteFuture(), answers.For("copy"));
  ASSERT_TRUE(answers.Await("twin"));
  EXPECT_EQ(answers.Get("twin")[0].status().code(), StatusCode::kDeadlineExceeded);
  busy_hold.Release();
  ASSERT_TRUE(answers.Await("copy"));
  ASSERT_TRUE(answers.Get("copy")[0].ok()) << answers.Get("copy")[0].status();
  EXPECT_EQ(answers.Get("copy")[0]->user_id(), "user");
  EXPECT_EQ(CountApplications(target), 1);
}

// --- deterministic failures ----------------------------------------------------

// A deterministic error is charged to exactly the application an isolated
// batch tried, never to whatever is the campaign's head when the failure is
// recorded: here the poison application is cancelled in between, and the
// innocent one behind it is not charged.
TEST_F(StoreTest, AFailureIsChargedOnlyToTheApplicationThatFailed) {
  const int64_t campaign = Create("poisoned", 10).id();
  {
    pqxx::work txn(*sql_);
    txn.exec(R"sql(
      CREATE FUNCTION test_poison() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.user_id = 'poison' AND NEW.status <> 'cancelled' THEN
          RAISE EXCEPTION 'poison row';
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER test_poison BEFORE UPDATE ON applications
        FOR EACH ROW EXECUTE FUNCTION test_poison();
    )sql");
    txn.commit();
  }
  const v1::Application poison = Apply(campaign, "poison");
  const v1::Application innocent = Apply(campaign, "innocent");

  queue::ClaimProtocol claim(sql_.get());
  const queue::BatchResult failed = claim.DecideIsolatedHead(campaign);
  ASSERT_FALSE(failed.status.ok());
  EXPECT_TRUE(db::IsChargeableToApplication(failed.status)) << failed.status;
  EXPECT_EQ(failed.isolated_application, poison.id());

  ASSERT_TRUE(store_->CancelApplication(poison.id()).ok());
  const auto recorded = claim.RecordFailure(campaign, failed.isolated_application,
                                            std::string(failed.status.message()), 1);
  ASSERT_TRUE(recorded.ok()) << recorded.status();
  EXPECT_EQ(*recorded, "");  // no longer pending: nothing charged
  EXPECT_EQ(Scalar(absl::StrCat("SELECT attempts FROM applications WHERE id = ", innocent.id())),
            0);
  EXPECT_EQ(Get(innocent.id()).status(), v1::APPLICATION_STATUS_PENDING);
  EXPECT_EQ(DecideAll(campaign), 1);
  EXPECT_EQ(Get(innocent.id()).status(), v1::APPLICATION_STATUS_APPROVED);
  ExpectSeatsConsistent(campaign);
}

// --- locking -------------------------------------------------------------------

// The worker's campaign lock is FOR NO KEY UPDATE so that Applies, whose
// foreign-key check takes FOR KEY SHARE on the campaign row, never wait for
// a deciding worker. Proven with lock_timeout, not with timing: an insert
// that had to wait would fail with 55P03.
// One skip-locked batch as a worker runs it (queue::ClaimProtocol), on `connection`.
queue::BatchResult ClaimBatch(db::Connection* connection, int batch_size, int max_campaigns) {
  queue::WindowClaim claim;
  claim.batch_size = batch_size;
  claim.max_campaigns = max_campaigns;
  return queue::ClaimProtocol(connection).DecideByWindow(claim);
}

TEST_F(StoreTest, OneBatchDecidesSeveralSmallCampaignsEachInIdOrder) {
  const int64_t full = Create("one seat", 1, false).id();
  const int64_t waitlisted = Create("two seats", 2, true).id();
  const int64_t a1 = Apply(full, "a1").id();
  const int64_t b1 = Apply(waitlisted, "b1").id();
  const int64_t a2 = Apply(full, "a2").id();
  const int64_t b2 = Apply(waitlisted, "b2").id();
  const int64_t b3 = Apply(waitlisted, "b3").id();

  const queue::BatchResult result = ClaimBatch(sql_.get(), 10, 4);
  ASSERT_TRUE(result.status.ok()) << result.status;
  EXPECT_FALSE(result.uncapped);
  EXPECT_EQ(result.campaign_ids, (std::vector<int64_t>{full, waitlisted}));  // id order
  EXPECT_EQ(result.decisions.size(), 5u);
  EXPECT_EQ(Get(a1).status(), v1::APPLICATION_STATUS_APPROVED);
  EXPECT_EQ(Get(a2).status(), v1::APPLICATION_STATUS_REJECTED);
  EXPECT_EQ(Get(b1).status(), v1::APPLICATION_STATUS_APPROVED);
  EXPECT_EQ(Get(b2).status(), v1::APPLICATION_STATUS_APPROVED);
  EXPECT_EQ(Get(b3).status(), v1::APPLICATION_STATUS_WAITLISTED);
  ExpectSeatsConsistent(full);
  ExpectSeatsConsistent(waitlisted);
}

TEST_F(StoreTest, ABatchBudgetGivesEachCampaignAPrefixOfItsQueue) {
  const int64_t first = Create("first", 10).id();
  const int64_t second = Create("second", 10).id();
  std::vector<int64_t> of_second;
  for (int i = 0; i < 3; ++i) {
    Apply(first, absl::StrCat("f", i));
    of_second.push_back(Apply(second, absl::StrCat("s", i)).id());
  }
  const queue::BatchResult result = ClaimBatch(sql_.get(), 4, 2);
  ASSERT_TRUE(result.status.ok()) << result.status;
  EXPECT_EQ(result.decisions.size(), 4u);
  EXPECT_EQ(CountApplications(first, "pending"), 0);
  // The second campaign's oldest was decided, its younger two wait.
  EXPECT_EQ(Get(of_second[0]).status(), v1::APPLICATION_STATUS_APPROVED);
  EXPECT_EQ(Get(of_second[1]).status(), v1::APPLICATION_STATUS_PENDING);
  EXPECT_EQ(Get(of_second[2]).status(), v1::APPLICATION_STATUS_PENDING);
  ExpectSeatsConsistent(first);
  ExpectSeatsConsistent(second);
}

TEST_F(StoreTest, TheMultiCampaignClaimSkipsCampaignsAnotherWorkerHolds) {
  const int64_t held = Create("held", 10).id();
  const int64_t free_one = Create("free", 10).id();
  Apply(held, "h");
  Apply(free_one, "f");
  auto other = MustConnect(url_);
  db::ReadCommittedTransaction holder(*other);
  ASSERT_EQ(db::Exec(holder, sql::kCampaignLock, held).size(), 1u);
  const queue::BatchResult result = ClaimBatch(sql_.get(), 10, 4);
  ASSERT_TRUE(result.status.ok()) << result.status;
  EXPECT_EQ(result.campaign_ids, std::vector<int64_t>{free_one});
  EXPECT_EQ(CountApplications(held, "pending"), 1);
  holder.commit();
}

TEST_F(StoreTest, AnUncappedCampaignIsDecidedAroundTheRowsAnotherWorkerHolds) {
  const int64_t open = Create("uncapped").id();
  std::vector<int64_t> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(Apply(open, absl::StrCat("u", i)).id());
  auto other = MustConnect(url_);
  {
    // Another worker's batch holds the two oldest rows: this one neither
    // waits for them nor for the campaign.
    pqxx::work holder(*other);
    holder.exec_params("SELECT id FROM applications WHERE id IN ($1, $2) FOR UPDATE", ids[0],
                       ids[1]);
    const queue::BatchResult result = ClaimBatch(sql_.get(), 10, 1);
    ASSERT_TRUE(result.status.ok()) << result.status;
    EXPECT_TRUE(result.uncapped);
    EXPECT_EQ(result.campaign_ids, std::vector<int64_t>{open});
    ASSERT_EQ(result.decisions.size(), 2u);
    EXPECT_EQ(result.decisions[0].application_id, ids[2]);
    EXPECT_EQ(result.decisions[1].application_id, ids[3]);
    EXPECT_EQ(GetCampaign(open).approved_count(), 2);
    holder.abort();
  }
  const queue::BatchResult rest = ClaimBatch(sql_.get(), 10, 1);
  ASSERT_TRUE(rest.status.ok()) << rest.status;
  EXPECT_EQ(rest.decisions.size(), 2u);
  EXPECT_EQ(CountApplications(open, "approved"), 4);
  ExpectSeatsConsistent(open);
}

TEST_F(StoreTest, AnUncappedBatchGivesWayToACancelOrCloseHoldingTheCampaign) {
  const int64_t open = Create("uncapped").id();
  Apply(open, "u0");
  Apply(open, "u1");
  auto other = MustConnect(url_);
  {
    // A cancel or close holds the campaign (and might wait for one of the
    // rows the batch locked): the batch's wait for the counter ends at its
    // lock_timeout and it rolls back, charged to nobody.
    db::ReadCommittedTransaction canceller(*other);
    ASSERT_EQ(db::Exec(canceller, sql::kCampaignLock, open).size(), 1u);
    const queue::BatchResult result = ClaimBatch(sql_.get(), 10, 1);
    EXPECT_EQ(db::SqlState(result.status), db::kSqlstateLockNotAvailable) << result.status;
    EXPECT_TRUE(db::IsTransient(result.status));
    EXPECT_TRUE(result.uncapped);
    EXPECT_EQ(CountApplications(open, "pending"), 2);
    canceller.commit();
  }
  const queue::BatchResult retried = ClaimBatch(sql_.get(), 10, 1);
  ASSERT_TRUE(retried.status.ok()) << retried.status;
  EXPECT_EQ(retried.decisions.size(), 2u);
  ExpectSeatsConsistent(open);
}

// --- step 0: campaigns a NOTIFY named ------------------------------------------

// A skip-locked batch for the campaigns a wake-up named (claim.h, step 0).
queue::BatchResult NotifiedBatch(db::Connection* connection, std::vector<int64_t> campaigns,
                                 int batch_size = 10) {
  return queue::ClaimProtocol(connection).DecideNotified(std::move(campaigns), batch_size);
}

TEST_F(StoreTest, NotifiedUncappedCampaignsAreDecidedInOneTransactionInIdOrder) {
  const int64_t first = Create("first").id();
  const int64_t second = Create("second").id();
  const int64_t other = Create("not notified").id();
  const int64_t s0 = Apply(second, "s0").id();
  const int64_t f0 = Apply(first, "f0").id();
  const int64_t f1 = Apply(first, "f1").id();
  Apply(other, "o0");

  const queue::BatchResult result = NotifiedBatch(sql_.get(), {second, first, second});
  ASSERT_TRUE(result.status.ok()) << result.status;
  EXPECT_TRUE(result.uncapped);
  EXPECT_TRUE(result.notified_only);
  EXPECT_EQ(result.campaign_ids, (std::vector<int64_t>{first, second}));
  ASSERT_EQ(result.decisions.size(), 3u);
  EXPECT_EQ(result.decisions[0].application_id, f0);
  EXPECT_EQ(result.decisions[1].application_id, f1);
  EXPECT_EQ(result.decisions[2].application_id, s0);
  EXPECT_EQ(CountApplications(first, "approved"), 2);
  EXPECT_EQ(CountApplications(second, "approved"), 1);
  EXPECT_EQ(CountApplications(other, "pending"), 1);  // only what was named
  ExpectSeatsConsistent(first);
  ExpectSeatsConsistent(second);
}

TEST_F(StoreTest, ANotifiedBatchStopsAtTheBatchSize) {
  const int64_t first = Create("first").id();
  const int64_t second = Create("second").id();
  for (int i = 0; i < 3; ++i) Apply(first, absl::StrCat("f", i));
  Apply(second, "s0");
  const queue::BatchResult result = NotifiedBatch(sql_.get(), {first, second}, 2);
  ASSERT_TRUE(result.status.ok()) << result.status;
  EXPECT_EQ(result.decisions.size(), 2u);  // full: the worker claims again
  EXPECT_EQ(CountApplications(first, "pending"), 1);
  EXPECT_EQ(CountApplications(second, "pending"), 1);
  ExpectSeatsConsistent(first);
}

TEST_F(StoreTest, ANotifiedCappedCampaignIsLeftToTheClaimUnderItsLock) {
  const int64_t capped = Create("capped", 1).id();
  const int64_t open = Create("uncapped").id();
  Apply(capped, "c0");
  Apply(open, "u0");
  const queue::BatchResult result = NotifiedBatch(sql_.get(), {capped, open});
  ASSERT_TRUE(result.status.ok()) << result.status;
  EXPECT_EQ(result.campaign_ids, std::vector<int64_t>{open});
  EXPECT_FALSE(result.notified_only);  // the worker claims again, the usual way
  EXPECT_EQ(CountApplications(capped, "pending"), 1);
  const queue::BatchResult alone = NotifiedBatch(sql_.get(), {capped});
  ASSERT_TRUE(alone.status.ok()) << alone.status;
  EXPECT_TRUE(alone.decisions.empty());
  EXPECT_FALSE(alone.notified_only);
  EXPECT_EQ(alone.campaign_id, 0);
  // Its row was never locked without the campaign: the usual claim decides it.
  EXPECT_EQ(ClaimBatch(sql_.get(), 10, 4).campaign_ids, std::vector<int64_t>{capped});
  EXPECT_EQ(CountApplications(capped, "approved"), 1);
  ExpectSeatsConsistent(capped);
}

TEST_F(StoreTest, ANotifiedCampaignWhoseRowsAnotherWorkerHoldsIsNothingToDo) {
  const int64_t open = Create("uncapped").id();
  const int64_t held = Apply(open, "u0").id();
  auto other = MustConnect(url_);
  pqxx::work holder(*other);
  holder.exec_params("SELECT id FROM applications WHERE id = $1 FOR UPDATE", held);
  const queue::BatchResult result = NotifiedBatch(sql_.get(), {open});
  ASSERT_TRUE(result.status.ok()) << result.status;
  EXPECT_TRUE(result.decisions.empty());
  EXPECT_TRUE(result.notified_only);  // the holder decides it: no claim again
  holder.abort();
  EXPECT_EQ(CountApplications(open, "pending"), 1);
}

TEST_F(StoreTest, ANotifiedPausedCampaignIsNothingToDo) {
  const int64_t open = Create("uncapped").id();
  Apply(open, "u0");
  Must(store_->PauseCampaign(open), "PauseCampaign");
  const queue::BatchResult result = NotifiedBatch(sql_.get(), {open});
  ASSERT_TRUE(result.status.ok()) << result.status;
  EXPECT_TRUE(result.decisions.empty());
  EXPECT_TRUE(result.notified_only);
  EXPECT_EQ(CountApplications(open, "pending"), 1);
}

class CampaignLockTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    campaign_id_ = Create("locked", 10).id();
    applier_ = MustConnect(url_);
    pqxx::nontransaction session(*applier_);
    session.exec("SET lock_timeout = '200ms'");
  }

  // The store's Apply statement (a batch of one Apply) on the
  // second connection.
  absl::StatusOr<bool> InsertOnSecondConnection(const std::string& user_id) {
    return db::InTransaction(
        *applier_, [&](db::ReadCommittedTransaction& txn) -> absl::StatusOr<bool> {
          pqxx::result rows = txn.exec_prepared(sql::kApplicationInsertBatch.name,
                                                db::BigintArrayLiteral({campaign_id_}),
                                                db::TextArrayLiteral({user_id}));
          return !rows[0][2].is_null();
        });
  }

  int64_t campaign_id_ = 0;
  std::unique_ptr<db::Connection> applier_;
};

TEST_F(CampaignLockTest, AppliesPassAWorkersNoKeyUpdateLock) {
  db::ReadCommittedTransaction worker(*sql_);
  ASSERT_EQ(db::Exec(worker, sql::kCampaignLock, campaign_id_).size(), 1u);  // FOR NO KEY UPDATE
  const auto inserted = InsertOnSecondConnection("through");
  ASSERT_TRUE(inserted.ok()) << inserted.status();
  EXPECT_TRUE(*inserted);
  worker.commit();
  EXPECT_EQ(CountApplications(campaign_id_), 1);
}

TEST_F(CampaignLockTest, ForUpdateWouldMakeAppliesWait) {
  {
    db::ReadCommittedTransaction worker(*sql_);
    worker.exec_params("SELECT status FROM campaigns WHERE id = $1 FOR UPDATE", campaign_id_);
    const auto inserted = InsertOnSecondConnection("blocked");
    EXPECT_EQ(inserted.status().code(), StatusCode::kAborted) << inserted.status();
    EXPECT_EQ(db::SqlState(inserted.status()), db::kSqlstateLockNotAvailable) << inserted.status();
    EXPECT_TRUE(db::IsTransient(inserted.status()));
    worker.commit();
  }
  EXPECT_EQ(CountApplications(campaign_id_), 0);
  // Released: the same insert goes through.
  const auto retried = InsertOnSecondConnection("blocked");
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_TRUE(*retried);
}

TEST_F(CampaignLockTest, WorkersExcludeEachOtherFromACampaign) {
  Apply(campaign_id_, "someone");
  db::ReadCommittedTransaction worker(*sql_);
  ASSERT_EQ(db::Exec(worker, sql::kCampaignLock, campaign_id_).size(), 1u);
  // A second worker: SKIP LOCKED finds nothing to claim, NOWAIT is refused.
  auto claimed = db::InTransaction(
      *applier_, [&](db::ReadCommittedTransaction& txn) -> absl::StatusOr<size_t> {
        return db::Exec(txn, sql::kCampaignClaimSkipLocked, db::BigintArrayLiteral({campaign_id_}),
                        1)
            .size();
      });
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  EXPECT_EQ(*claimed, 0u);
  auto nowait = db::InTransaction(
      *applier_, [&](db::ReadCommittedTransaction& txn) -> absl::StatusOr<size_t> {
        return db::Exec(txn, sql::kCampaignLockNowait, campaign_id_).size();
      });
  EXPECT_EQ(db::SqlState(nowait.status()), db::kSqlstateLockNotAvailable) << nowait.status();
  worker.commit();
  // Released: claimable again.
  claimed = db::InTransaction(*applier_,
                              [&](db::ReadCommittedTransaction& txn) -> absl::StatusOr<size_t> {
                                return db::Exec(txn, sql::kCampaignClaimSkipLocked,
                                                db::BigintArrayLiteral({campaign_id_}), 1)
                                    .size();
                              });
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  EXPECT_EQ(*claimed, 1u);
}

// --- operations: request ids, schedules, pause, retry, delete, maintenance -------

TEST_F(StoreTest, CreateCampaignWithARequestIdIsIdempotent) {
  v1::CreateCampaignRequest request;
  request.set_name("drop");
  request.set_max_participants(5);
  request.set_request_id("7f1c0d2e-retry-me");
  const v1::Campaign first = Must(store_->CreateCampaign(request));
  const v1::Campaign again = Must(store_->CreateCampaign(request));
  EXPECT_EQ(again.id(), first.id());
  EXPECT_EQ(Scalar("SELECT count(*) FROM campaigns"), 1);

  // The same id for a different request is the caller's bug, named.
  request.set_max_participants(6);
  auto different = store_->CreateCampaign(request);
  EXPECT_EQ(different.status().code(), StatusCode::kAlreadyExists) << different.status();
  EXPECT_TRUE(absl::StrContains(different.status().message(), "7f1c0d2e-retry-me"));
  EXPECT_EQ(Scalar("SELECT count(*) FROM campaigns"), 1);

  request.set_request_id(std::string(101, 'x'));
  EXPECT_EQ(store_->CreateCampaign(request).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(StoreTest, ConcurrentRetriesOfOneCreateCampaignMakeOneCampaign) {
  v1::CreateCampaignRequest request;
  request.set_name("raced");
  request.set_request_id("one-request");
  std::vector<std::thread> callers;
  std::vector<int64_t> ids(8, 0);
  for (int i = 0; i < 8; ++i) {
    callers.emplace_back([&, i] {
      auto created = store_->CreateCampaign(request);
      if (created.ok()) ids[i] = created->id();
    });
  }
  for (auto& caller : callers) caller.join();
  EXPECT_EQ(Scalar("SELECT count(*) FROM campaigns"), 1);
  for (int64_t id : ids) EXPECT_EQ(id, ids[0]);
  EXPECT_GT(ids[0], 0);
}

TEST_F(StoreTest, ScheduleIsValidatedAndApplyBeforeOpeningIsRefusedNamingTheTime) {
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  v1::CreateCampaignRequest bad;
  bad.set_name("bad");
  bad.mutable_closes_at()->set_seconds(now - 10);
  EXPECT_EQ(store_->CreateCampaign(bad).status().code(), StatusCode::kInvalidArgument);
  bad.mutable_closes_at()->set_seconds(now + 100);
  bad.mutable_opens_at()->set_seconds(now + 200);
  EXPECT_EQ(store_->CreateCampaign(bad).status().code(), StatusCode::kInvalidArgument);
  bad.mutable_opens_at()->set_nanos(-1);
  EXPECT_EQ(store_->CreateCampaign(bad).status().code(), StatusCode::kInvalidArgument);

  v1::CreateCampaignRequest later;
  later.set_name("opens tomorrow");
  later.mutable_opens_at()->set_seconds(now + 86400);
  const v1::Campaign campaign = Must(store_->CreateCampaign(later));
  EXPECT_EQ(campaign.opens_at().seconds(), now + 86400);
  auto early = TryApply(campaign.id(), "eager");
  EXPECT_EQ(early.status().code(), StatusCode::kFailedPrecondition) << early.status();
  EXPECT_TRUE(absl::StrContains(early.status().message(), "opens at"));
  EXPECT_TRUE(absl::StrContains(
      early.status().message(),
      absl::FormatTime("%Y-%m-%d", absl::FromUnixSeconds(now + 86400), absl::UTCTimeZone())));
  EXPECT_EQ(CountApplications(campaign.id()), 0);

  // Opened (as if the time had come): Applies go through.
  pqxx::nontransaction(*sql_).exec_params(
      "UPDATE campaigns SET opens_at = now() - interval '1 second' WHERE id = $1", campaign.id());
  EXPECT_TRUE(TryApply(campaign.id(), "eager").ok());
}

TEST_F(StoreTest, TheMaintenanceLeaderClosesDueCampaignsAndOnlyOneLeads) {
  v1::CreateCampaignRequest request;
  request.set_name("closes soon");
  request.set_max_participants(1);
  const int64_t now_micros = absl::ToUnixMicros(absl::Now());
  *request.mutable_closes_at() =
      google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(now_micros + 60'000'000);
  const v1::Campaign campaign = Must(store_->CreateCampaign(request));
  Apply(campaign.id(), "a");
  Apply(campaign.id(), "b");
  DecideAll(campaign.id());   // a approved, b waitlisted
  Apply(campaign.id(), "c");  // pending

  // Not due yet: the leader reports when the next close is.
  auto report = Must(store_->RunMaintenanceTick(std::chrono::microseconds(0)));
  EXPECT_TRUE(report.leader);
  EXPECT_EQ(report.closed_campaigns, 0);
  ASSERT_TRUE(report.next_close_in.has_value());
  EXPECT_GT(report.next_close_in->count(), 0);
  EXPECT_LE(report.next_close_in->count(), 60'000'000);

  pqxx::nontransaction(*sql_).exec_params("UPDATE campaigns SET closes_at = now() WHERE id = $1",
                                          campaign.id());
  // Past closes_at an Apply is refused even before the leader has run.
  EXPECT_EQ(TryApply(campaign.id(), "late").status().code(), StatusCode::kFailedPrecondition);

  // While another session holds the leader's lock, this process does
  // nothing: exactly one process acts per tick.
  {
    pqxx::work holder(*sql_);
    holder.exec("SELECT pg_advisory_xact_lock(7164506171753181234)");
    auto follower = Must(store_->RunMaintenanceTick(std::chrono::microseconds(0)));
    EXPECT_FALSE(follower.leader);
    EXPECT_EQ(follower.closed_campaigns, 0);
    EXPECT_EQ(GetCampaign(campaign.id()).status(), v1::CAMPAIGN_STATUS_OPEN);
    holder.abort();
  }
  report = Must(store_->RunMaintenanceTick(std::chrono::microseconds(0)));
  EXPECT_TRUE(report.leader);
  EXPECT_EQ(report.closed_campaigns, 1);
  EXPECT_EQ(GetCampaign(campaign.id()).status(), v1::CAMPAIGN_STATUS_CLOSED);
  // Exactly as CloseCampaign: pending and waitlisted rejected, approved kept.
  EXPECT_EQ(CountApplications(campaign.id(), "approved"), 1);
  EXPECT_EQ(CountApplications(campaign.id(), "rejected"), 2);
  EXPECT_FALSE(
      Must(store_->RunMaintenanceTick(std::chrono::microseconds(0))).next_close_in.has_value());
}

// A prepared statement keeps its generic plan until an ANALYZE invalidates
// it. Costed while applications was empty, ApplicationDecideBatch's UPDATE
// once joined the picked rows to a scan of every pending row (a soak fell
// behind without bound until the first autoanalyze). Since the batch ranks
// waitlisted rows with the pending ones, the UPDATE matches each verdict by
// id and its status before ("a.status = v.was"), so even the plan cached on
// the empty table probes the primary key once per decision; and
// DiscardCachedPlans, which the worker runs every few seconds, still makes
// every statement plan again for the table as it is.
TEST_F(StoreTest, TheDecisionProbesOneRowPerDecisionInPlansCachedOnAnEmptyTableAndAfter) {
  const int64_t campaign = Create("grows from empty", 100000).id();
  {
    pqxx::work txn(*sql_);
    // No autoanalyze may invalidate the plan behind the test's back.
    txn.exec("ALTER TABLE applications SET (autovacuum_enabled = false)");
    txn.commit();
  }
  std::unique_ptr<db::Connection> worker = MustConnect(url_);
  {
    pqxx::nontransaction txn(*worker);
    txn.exec("SET plan_cache_mode = force_generic_plan");  // cached at the first execution
  }
  queue::ClaimProtocol claim(worker.get());
  const queue::BatchResult empty = claim.DecideCampaign(campaign, 500);
  ASSERT_TRUE(empty.status.ok()) << empty.status;
  ASSERT_TRUE(empty.decisions.empty());
  {
    pqxx::work txn(*sql_);
    txn.exec_params(
        "INSERT INTO applications (campaign_id, user_id) "
        "SELECT $1, g::text FROM generate_series(1, 20000) g",
        campaign);
    txn.commit();
  }
  const auto plan = [&] {
    pqxx::nontransaction txn(*worker);
    std::string text;
    for (const auto& row :
         txn.exec(absl::StrCat("EXPLAIN (COSTS OFF) EXECUTE \"", sql::kApplicationDecideBatch.name,
                               "\"('{", campaign, "}', 500, 0)"))) {
      absl::StrAppend(&text, row[0].c_str(), "\n");
    }
    return text;
  };
  const std::string cached = plan();
  EXPECT_FALSE(absl::StrContains(cached, "Join Filter: (a.id = r.id)")) << cached;
  EXPECT_TRUE(absl::StrContains(cached, "Index Scan using applications_pkey on applications a"))
      << cached;

  claim.DiscardCachedPlans();
  const std::string replanned = plan();
  EXPECT_FALSE(absl::StrContains(replanned, "Join Filter: (a.id = r.id)")) << replanned;
  EXPECT_TRUE(absl::StrContains(replanned, "Index Scan using applications_pkey on applications a"))
      << replanned;
  const queue::BatchResult decided = claim.DecideCampaign(campaign, 500);
  ASSERT_TRUE(decided.status.ok()) << decided.status;
  EXPECT_EQ(decided.decisions.size(), 500u);
}

TEST_F(StoreTest, PauseAndResumeAreIdempotentAndRefuseClosedCampaigns) {
  const v1::Campaign campaign = Create("pausable", 2);
  EXPECT_TRUE(Must(store_->PauseCampaign(campaign.id())).paused());
  EXPECT_TRUE(Must(store_->PauseCampaign(campaign.id())).paused());
  // Applies still queue while paused, in order.
  const int64_t first = Apply(campaign.id(), "first").id();
  const int64_t second = Apply(campaign.id(), "second").id();
  EXPECT_LT(first, second);
  // Workers decide nothing of it, by any path: the campaign's own claim,
  // and the skip-locked claim over every campaign (capped or not).
  const v1::Campaign uncapped = Create("pausable, uncapped");
  Must(store_->PauseCampaign(uncapped.id()));
  Apply(uncapped.id(), "third");
  EXPECT_EQ(DecideAll(campaign.id()), 0);
  queue::WindowClaim any;
  any.batch_size = 10;
  const queue::BatchResult result = queue::ClaimProtocol(sql_.get()).DecideByWindow(any);
  EXPECT_TRUE(result.status.ok()) << result.status;
  EXPECT_TRUE(result.decisions.empty());
  EXPECT_EQ(CountApplications(campaign.id(), "pending"), 2);
  EXPECT_EQ(CountApplications(uncapped.id(), "pending"), 1);

  EXPECT_FALSE(Must(store_->ResumeCampaign(campaign.id())).paused());
  EXPECT_FALSE(Must(store_->ResumeCampaign(campaign.id())).paused());
  Must(store_->ResumeCampaign(uncapped.id()));
  // First come, first served across the pause.
  EXPECT_EQ(DecideAll(campaign.id(), 1), 2);
  EXPECT_EQ(Get(first).status(), v1::APPLICATION_STATUS_APPROVED);
  EXPECT_EQ(Get(second).status(), v1::APPLICATION_STATUS_APPROVED);
  const queue::BatchResult resumed = queue::ClaimProtocol(sql_.get()).DecideByWindow(any);
  EXPECT_EQ(resumed.decisions.size(), 1u);
  EXPECT_EQ(store_->PauseCampaign(987654).status().code(), StatusCode::kNotFound);
  Must(store_->CloseCampaign(campaign.id()));
  EXPECT_EQ(store_->PauseCampaign(campaign.id()).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->ResumeCampaign(campaign.id()).status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(StoreTest, RetryPutsFailedApplicationsBackInTheirOriginalOrder) {
  const v1::Campaign campaign = Create("dead letters", 10);
  std::vector<int64_t> ids;
  for (const char* user : {"u1", "u2", "u3"}) ids.push_back(Apply(campaign.id(), user).id());
  // What a worker leaves after deterministic errors.
  for (int64_t id : ids) pqxx::nontransaction(*sql_).exec(testing::MarkFailedSql(id));

  const v1::Application retried = Must(store_->RetryApplication(ids[1]));
  EXPECT_EQ(retried.id(), ids[1]);
  EXPECT_EQ(retried.status(), v1::APPLICATION_STATUS_PENDING);
  EXPECT_EQ(retried.attempts(), 0);
  EXPECT_EQ(retried.last_error(), "");
  auto again = store_->RetryApplication(ids[1]);
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition) << again.status();
  EXPECT_TRUE(absl::StrContains(again.status().message(), "pending"));

  EXPECT_EQ(Must(store_->RetryFailedApplications(campaign.id())), 2);
  EXPECT_EQ(Must(store_->RetryFailedApplications(campaign.id())), 0);
  EXPECT_EQ(CountApplications(campaign.id(), "pending"), 3);
  DecideAll(campaign.id());
  for (int64_t id : ids) EXPECT_EQ(Get(id).status(), v1::APPLICATION_STATUS_APPROVED) << id;
  ExpectSeatsConsistent(campaign.id());

  Must(store_->CloseCampaign(campaign.id()));
  EXPECT_EQ(store_->RetryFailedApplications(campaign.id()).status().code(),
            StatusCode::kFailedPrecondition);
}

TEST_F(StoreTest, DeleteCampaignTakesOnlyClosedOnesWithTheirApplications) {
  const v1::Campaign campaign = Create("storm data");
  for (int i = 0; i < 30; ++i) Apply(campaign.id(), absl::StrCat("user-", i));
  EXPECT_EQ(store_->DeleteCampaign(campaign.id()).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(CountApplications(campaign.id()), 30);
  Must(store_->CloseCampaign(campaign.id()));
  EXPECT_EQ(Must(store_->DeleteCampaign(campaign.id())), 30);
  EXPECT_EQ(store_->GetCampaign(campaign.id()).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(CountApplications(campaign.id()), 0);
  EXPECT_EQ(store_->DeleteCampaign(campaign.id()).status().code(), StatusCode::kNotFound);
}

TEST_F(StoreTest, RetentionPurgesOnlyCampaignsClosedLongerThanItKeeps) {
  const v1::Campaign old_one = Create("closed long ago");
  const v1::Campaign recent = Create("closed just now");
  for (int i = 0; i < 5; ++i) {
    Apply(old_one.id(), absl::StrCat("u", i));
    Apply(recent.id(), absl::StrCat("u", i));
  }
  Must(store_->CloseCampaign(old_one.id()));
  Must(store_->CloseCampaign(recent.id()));
  pqxx::nontransaction(*sql_).exec_params(
      "UPDATE campaigns SET closed_at = now() - interval '31 days' WHERE id = $1", old_one.id());

  // Zero keeps everything forever.
  EXPECT_EQ(Must(store_->RunMaintenanceTick(std::chrono::microseconds(0))).purged_applications, 0);
  const std::chrono::microseconds thirty_days = std::chrono::hours(24 * 30);
  EXPECT_EQ(Must(store_->RunMaintenanceTick(thirty_days)).purged_applications, 5);
  EXPECT_EQ(CountApplications(old_one.id()), 0);
  EXPECT_EQ(CountApplications(recent.id()), 5);
  // The campaign row and its counts stay; it is not visited again.
  EXPECT_EQ(GetCampaign(old_one.id()).status(), v1::CAMPAIGN_STATUS_CLOSED);
  EXPECT_EQ(Scalar(absl::StrCat("SELECT count(*) FROM campaigns WHERE purged_at IS NOT NULL")), 1);
  EXPECT_EQ(Must(store_->RunMaintenanceTick(thirty_days)).purged_applications, 0);
}

// --- rows that vanish, closes that race, and the line (issue 19) -----------------

class InterleavingTest : public StoreTest {
 protected:
  // Holds the campaign lock (as CampaignLock takes it) in a transaction of
  // its own until Commit(): store calls that take the campaign lock wait.
  class CampaignLockHold {
   public:
    CampaignLockHold(const std::string& url, int64_t campaign_id)
        : connection_(MustConnect(url)), txn_(*connection_) {
      txn_.exec_params("SELECT id FROM campaigns WHERE id = $1 FOR NO KEY UPDATE", campaign_id);
    }
    pqxx::work& txn() { return txn_; }
    void Commit() { txn_.commit(); }

   private:
    std::unique_ptr<db::Connection> connection_;
    pqxx::work txn_;
  };

  // Runs `call` on another thread and returns once it waits for a lock
  // (true) or has finished without ever waiting for one (false).
  template <typename Call>
  bool StartAndAwaitLockWait(std::thread* thread, std::atomic<bool>* finished, Call call) {
    *thread = std::thread([finished, call] {
      call();
      finished->store(true);
    });
    while (!finished->load()) {
      if (Scalar("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                 "AND application_name = 'campaignq-store-test'") > 0) {
        return true;
      }
    }
    return false;
  }

  // An application deleted (as retention or DeleteCampaign do) after the
  // store read it and while it waited for the campaign lock.
  absl::Status CallWhileItsApplicationIsDeleted(int64_t campaign_id, int64_t application_id,
                                                const std::function<absl::Status(int64_t)>& call) {
    CampaignLockHold hold(url_, campaign_id);
    absl::Status status;
    std::thread thread;
    std::atomic<bool> finished{false};
    EXPECT_TRUE(StartAndAwaitLockWait(&thread, &finished, [&] { status = call(application_id); }));
    hold.txn().exec_params("DELETE FROM applications WHERE id = $1", application_id);
    hold.Commit();
    thread.join();
    return status;
  }

  void MoveClosesAtIntoThePast(int64_t campaign_id) {
    pqxx::nontransaction(*sql_).exec_params(
        "UPDATE campaigns SET closes_at = clock_timestamp() - interval '1 second' WHERE id = $1",
        campaign_id);
  }

  queue::BatchResult DecideAnyBatch() {
    queue::WindowClaim any;
    any.batch_size = 10;
    queue::BatchResult result = queue::ClaimProtocol(sql_.get()).DecideByWindow(any);
    EXPECT_TRUE(result.status.ok()) << result.status;
    return result;
  }
};

// Failed on the old code with SIGSEGV: ApplicationLock's empty result was
// indexed ([0][0]) once the row was gone.
TEST_F(InterleavingTest, CancelOfAnApplicationDeletedWhileItWaitedIsNotFound) {
  const v1::Campaign campaign = Create("purged under a cancel", 3);
  const int64_t id = Apply(campaign.id(), "u").id();
  const absl::Status status = CallWhileItsApplicationIsDeleted(
      campaign.id(), id,
      [&](int64_t application_id) { return store_->CancelApplication(application_id).status(); });
  EXPECT_EQ(status.code(), StatusCode::kNotFound) << status;
}

// Failed on the old code with SIGSEGV (ApplicationGet's empty result read
// for the status message).
TEST_F(InterleavingTest, RetryOfAnApplicationDeletedWhileItWaitedIsNotFound) {
  const v1::Campaign campaign = Create("purged under a retry", 3);
  const int64_t id = Apply(campaign.id(), "u").id();
  pqxx::nontransaction(*sql_).exec(testing::MarkFailedSql(id));
  const absl::Status status = CallWhileItsApplicationIsDeleted(
      campaign.id(), id,
      [&](int64_t application_id) { return store_->RetryApplication(application_id).status(); });
  EXPECT_EQ(status.code(), StatusCode::kNotFound) << status;
}

// Retention and DeleteCampaign change a campaign's applications, so they
// take its lock first (docs/architecture.md, Lock order). Failed on the old code: both
// deleted at once, without waiting for the lock.
TEST_F(InterleavingTest, RetentionAndDeleteCampaignWaitForTheCampaignLock) {
  const v1::Campaign purged = Create("purged");
  const v1::Campaign deleted = Create("deleted");
  for (int i = 0; i < 3; ++i) {
    Apply(purged.id(), absl::StrCat("u", i));
    Apply(deleted.id(), absl::StrCat("u", i));
  }
  Must(store_->CloseCampaign(purged.id()));
  Must(store_->CloseCampaign(deleted.id()));
  pqxx::nontransaction(*sql_).exec_params(
      "UPDATE campaigns SET closed_at = now() - interval '31 days' WHERE id = $1", purged.id());

  {
    CampaignLockHold hold(url_, purged.id());
    int64_t purged_rows = -1;
    std::thread tick;
    std::atomic<bool> finished{false};
    EXPECT_TRUE(StartAndAwaitLockWait(&tick, &finished, [&] {
      purged_rows =
          Must(store_->RunMaintenanceTick(std::chrono::hours(24 * 30))).purged_applications;
    })) << "retention deleted without the campaign lock";
    EXPECT_EQ(CountApplications(purged.id()), 3);
    hold.Commit();
    tick.join();
    EXPECT_EQ(purged_rows, 3);
  }
  {
    CampaignLockHold hold(url_, deleted.id());
    int64_t deleted_rows = -1;
    std::thread deletion;
    std::atomic<bool> finished{false};
    EXPECT_TRUE(StartAndAwaitLockWait(&deletion, &finished, [&] {
      deleted_rows = Must(store_->DeleteCampaign(deleted.id()));
    })) << "DeleteCampaign deleted applications without the campaign lock";
    EXPECT_EQ(CountApplications(deleted.id()), 3);
    hold.Commit();
    deletion.join();
    EXPECT_EQ(deleted_rows, 3);
  }
}

// An Apply that read the campaign open commits after a close of the paused
// campaign. Failed on the old code: the row stayed pending forever (every
// claim skips paused campaigns; Resume refuses closed ones).
TEST_F(InterleavingTest, AnApplyCommittedAfterAPausedCampaignClosedIsStillDecided) {
  const v1::Campaign closed_now = Create("paused, then closed", 5);
  const v1::Campaign closed_on_schedule = Create("paused, then closed on schedule", 5);
  for (const v1::Campaign& campaign : {closed_now, closed_on_schedule}) {
    Must(store_->PauseCampaign(campaign.id()));
  }
  auto late = MustConnect(url_);
  pqxx::work in_flight(*late);
  for (const v1::Campaign& campaign : {closed_now, closed_on_schedule}) {
    in_flight.exec_params("INSERT INTO applications (campaign_id, user_id) VALUES ($1, 'late')",
                          campaign.id());
  }
  EXPECT_FALSE(Must(store_->CloseCampaign(closed_now.id())).paused());
  MoveClosesAtIntoThePast(closed_on_schedule.id());
  EXPECT_EQ(Must(store_->RunMaintenanceTick(std::chrono::microseconds(0))).closed_campaigns, 1);
  EXPECT_FALSE(GetCampaign(closed_on_schedule.id()).paused());
  in_flight.commit();

  EXPECT_EQ(DecideAnyBatch().decisions.size() + DecideAnyBatch().decisions.size(), 2u);
  for (const v1::Campaign& campaign : {closed_now, closed_on_schedule}) {
    EXPECT_EQ(CountApplications(campaign.id(), "pending"), 0) << campaign.name();
    EXPECT_EQ(CountApplications(campaign.id(), "rejected"), 1) << campaign.name();
    ExpectSeatsConsistent(campaign.id());
  }
  // The database keeps it so: a closed campaign cannot be paused.
  EXPECT_THROW(pqxx::nontransaction(*sql_).exec_params(
                   "UPDATE campaigns SET paused = true WHERE id = $1", closed_now.id()),
               pqxx::check_violation);
}

// Between closes_at and the maintenance close (unbounded while no server
// runs) nothing is approved or promoted. Failed on the old code: the
// pending row was waitlisted, the waitlisted one promoted, the uncapped
// one approved.
TEST_F(InterleavingTest, DecisionsAndPromotionsRespectClosesAtBeforeTheCloseRuns) {
  const v1::Campaign capped = Create("past closes_at", 1, true);
  const int64_t approved = Apply(capped.id(), "a").id();
  const int64_t waitlisted = Apply(capped.id(), "w").id();
  DecideAll(capped.id());
  const int64_t pending = Apply(capped.id(), "p").id();
  const v1::Campaign uncapped = Create("past closes_at, uncapped");
  const int64_t uncapped_pending = Apply(uncapped.id(), "u").id();
  MoveClosesAtIntoThePast(capped.id());
  MoveClosesAtIntoThePast(uncapped.id());

  DecideAnyBatch();
  DecideAnyBatch();
  EXPECT_EQ(Get(pending).status(), v1::APPLICATION_STATUS_REJECTED);
  EXPECT_EQ(Get(pending).reason(), v1::REJECTION_REASON_CAMPAIGN_CLOSED);
  EXPECT_EQ(Get(uncapped_pending).status(), v1::APPLICATION_STATUS_REJECTED);
  EXPECT_EQ(Get(uncapped_pending).reason(), v1::REJECTION_REASON_CAMPAIGN_CLOSED);

  Must(store_->CancelApplication(approved));
  EXPECT_EQ(Get(waitlisted).status(), v1::APPLICATION_STATUS_WAITLISTED);  // until the close
  EXPECT_EQ(GetCampaign(capped.id()).approved_count(), 0);
  EXPECT_EQ(store_->RetryApplication(pending).status().code(), StatusCode::kFailedPrecondition);

  EXPECT_EQ(Must(store_->RunMaintenanceTick(std::chrono::microseconds(0))).closed_campaigns, 2);
  EXPECT_EQ(Get(waitlisted).status(), v1::APPLICATION_STATUS_REJECTED);
  ExpectSeatsConsistent(capped.id());
  ExpectSeatsConsistent(uncapped.id());
}

// A retried application keeps its id, its place in line. Failed on the old
// code: the freed seat went to the waitlisted W past the older F, which
// was then waitlisted behind it.
TEST_F(InterleavingTest, ASeatFreedWhileAnOlderRetriedApplicationIsPendingGoesToIt) {
  const v1::Campaign campaign = Create("retried ahead of the waitlist", 2, true);
  const int64_t x = Apply(campaign.id(), "x").id();
  const int64_t f = Apply(campaign.id(), "f").id();
  Apply(campaign.id(), "y");
  const int64_t w = Apply(campaign.id(), "w").id();
  pqxx::nontransaction(*sql_).exec(testing::MarkFailedSql(f));
  DecideAll(campaign.id());  // x, y approved; w waitlisted
  ASSERT_EQ(Get(w).status(), v1::APPLICATION_STATUS_WAITLISTED);
  Must(store_->RetryApplication(f));

  Must(store_->CancelApplication(x));
  DecideAll(campaign.id());
  EXPECT_EQ(Get(f).status(), v1::APPLICATION_STATUS_APPROVED);
  EXPECT_EQ(Get(w).status(), v1::APPLICATION_STATUS_WAITLISTED);
  ExpectSeatsConsistent(campaign.id());
}

// Two seats freed while an older retried application is pending: the line
// is F, then W (waitlisted), then P (applied after the cancels); two seats
// go to F and W, never to P.
TEST_F(InterleavingTest, SeatsFreedAheadOfTheWaitlistGoInLineOrder) {
  const v1::Campaign campaign = Create("two seats, one line", 2, true);
  const int64_t x = Apply(campaign.id(), "x").id();
  const int64_t f = Apply(campaign.id(), "f").id();
  const int64_t y = Apply(campaign.id(), "y").id();
  const int64_t w = Apply(campaign.id(), "w").id();
  pqxx::nontransaction(*sql_).exec(testing::MarkFailedSql(f));
  DecideAll(campaign.id());
  Must(store_->RetryApplication(f));
  Must(store_->CancelApplication(x));
  Must(store_->CancelApplication(y));
  const int64_t p = Apply(campaign.id(), "p").id();
  DecideAll(campaign.id(), 1);
  EXPECT_EQ(Get(f).status(), v1::APPLICATION_STATUS_APPROVED);
  EXPECT_EQ(Get(w).status(), v1::APPLICATION_STATUS_APPROVED);
  EXPECT_EQ(Get(p).status(), v1::APPLICATION_STATUS_WAITLISTED);
  ExpectSeatsConsistent(campaign.id());
}

// A seat left for an older pending application that is then cancelled
// goes on to the waitlist at once.
TEST_F(InterleavingTest, ASeatLeftForAPendingApplicationThatIsCancelledGoesToTheWaitlist) {
  const v1::Campaign campaign = Create("left, then cancelled", 1, true);
  const int64_t x = Apply(campaign.id(), "x").id();
  const int64_t f = Apply(campaign.id(), "f").id();
  const int64_t w = Apply(campaign.id(), "w").id();
  pqxx::nontransaction(*sql_).exec(testing::MarkFailedSql(f));
  DecideAll(campaign.id());
  Must(store_->RetryApplication(f));
  Must(store_->CancelApplication(x));
  Must(store_->CancelApplication(f));
  EXPECT_EQ(Get(w).status(), v1::APPLICATION_STATUS_APPROVED);
  EXPECT_EQ(GetCampaign(campaign.id()).approved_count(), 1);
  ExpectSeatsConsistent(campaign.id());
}

}  // namespace
}  // namespace campaignq
