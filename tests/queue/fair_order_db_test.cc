// db tier: the pre-queue's shuffle (migration 0009, campaignq_prequeue_key)
// is uniform. 2,400 campaigns of 4 pre-queued applicants each: the order of
// the 4 is one of 24 permutations, each expected 100 times. Pearson's
// chi-squared statistic over the 24 counts (23 degrees of freedom) must stay
// below 49.73, the 0.999 quantile: if the key behaves as a random function
// (what sha256 is assumed to be), a test run fails by chance with
// probability 0.001. The seeds are fixed (md5 of the campaign number), so the
// data, the statistic and the outcome are the same in every run: a
// reproducible sample, not a flaky one. A key that ignored the seed, or
// ordered by user id, puts all 2,400 in one permutation (statistic 55,200).

#include <array>
#include <cstdio>
#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <string>

#include "common/db/connect.h"
#include "common/db/migrator.h"
#include "gtest/gtest.h"
#include "support/test_postgres.h"

namespace campaignq {
namespace {

constexpr int kCampaigns = 2400;
constexpr double kChiSquaredCritical = 49.728;  // chi2(23), p = 0.999

TEST(FairOrderDbTest, ThePrequeueShuffleIsUniformOverManySmallCampaigns) {
  auto connection = db::Connect(testing::FreshDatabaseUrl("fair_order_uniform"), {});
  ASSERT_TRUE(connection.ok()) << connection.status();
  ASSERT_TRUE(db::Migrate(**connection, db::MigrateMode::kAuto).ok());
  pqxx::work txn(**connection);
  // Per campaign, its 4 users ordered by the key (ties by name: never seen).
  const pqxx::result rows = txn.exec_params(
      "SELECT c, string_agg(u, '' ORDER BY campaignq_prequeue_key(md5(c::text)::uuid, c, u), u) "
      "FROM generate_series(1, $1) c, unnest(ARRAY['a', 'b', 'c', 'd']) u GROUP BY c",
      kCampaigns);
  ASSERT_EQ(static_cast<int>(rows.size()), kCampaigns);
  std::map<std::string, int> counts;
  for (const auto& row : rows) ++counts[row[1].as<std::string>()];
  EXPECT_EQ(counts.size(), 24u);
  const double expected = kCampaigns / 24.0;
  double statistic = 0;
  for (const auto& [order, count] : counts) {
    statistic += (count - expected) * (count - expected) / expected;
  }
  statistic += (24 - static_cast<int>(counts.size())) * expected;  // permutations never seen
  std::printf("chi-squared over %d campaigns: %.2f (critical %.2f)\n", kCampaigns, statistic,
              kChiSquaredCritical);
  EXPECT_LT(statistic, kChiSquaredCritical);
}

}  // namespace
}  // namespace campaignq
