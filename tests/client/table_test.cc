#include "client/table.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace campaignq::client {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using verify::CampaignTally;

StormReport Sample() {
  StormReport r;
  CampaignTally t;
  t.campaign_id = 42;
  t.cap = 10;
  t.approved = 10;
  t.waitlisted = 5;
  t.approved_count = 10;
  t.rows = 15;
  t.acknowledged = 15;
  t.fill_checked = true;
  r.verdict.campaigns.push_back(t);
  r.verdict.totals = t;
  r.verdict.applicants = 15;
  r.verdict.acknowledged = 15;
  r.verdict.decided = 15;
  r.elapsed_seconds = 1.5;
  r.apply_seconds = 0.5;
  r.applies_per_second = 30;
  return r;
}

TEST(FormatStormTable, ShowsRowsTotalsAndVerdicts) {
  const std::string table = FormatStormTable(Sample());
  EXPECT_THAT(table, HasSubstr("campaign"));
  EXPECT_THAT(table, HasSubstr("approved_count"));
  EXPECT_THAT(table, HasSubstr("42"));
  EXPECT_THAT(table, HasSubstr("total"));
  EXPECT_THAT(table, HasSubstr("(i) first come, first served: 0 violation(s)"));
  EXPECT_THAT(table, HasSubstr("30.0 Apply/s"));
  EXPECT_THAT(table, HasSubstr("all invariants hold"));
  EXPECT_THAT(table, HasSubstr("skipped (no decision audit installed)"));
  EXPECT_THAT(table, Not(HasSubstr("BROKEN")));
}

TEST(FormatStormTable, MissingRequiredAuditIsBroken) {
  StormReport r = Sample();
  r.verdict.invariants.audit_missing = true;
  EXPECT_THAT(FormatStormTable(r), HasSubstr("BROKEN (f) each application left pending exactly "
                                             "once: the decision audit is missing"));
}

TEST(FormatStormTable, FlagsBrokenInvariantsAndCounterMismatch) {
  StormReport r = Sample();
  r.verdict.campaigns[0].count_mismatch = true;
  r.verdict.campaigns[0].approved_count = 9;
  r.verdict.invariants.count_mismatch = 1;
  r.verdict.invariants.fcfs = 2;
  const std::string table = FormatStormTable(r);
  EXPECT_THAT(table, HasSubstr("9*"));
  EXPECT_THAT(table, HasSubstr("BROKEN (b)"));
  EXPECT_THAT(table, HasSubstr("BROKEN (i) first come, first served: 2 violation(s)"));
  EXPECT_THAT(table, HasSubstr("INVARIANTS BROKEN"));
}

TEST(FormatStormTable, UnlimitedCapShowsDash) {
  StormReport r = Sample();
  r.verdict.campaigns[0].cap.reset();
  EXPECT_THAT(FormatStormTable(r), ::testing::ContainsRegex("\n42 +- +10 "));
}

TEST(FormatStormJson, CarriesTheSameNumbers) {
  StormReport r = Sample();
  r.verdict.invariants.fcfs = 3;
  const std::string json = FormatStormJson(r);
  EXPECT_EQ(json.front(), '{');
  EXPECT_EQ(json.back(), '}');
  EXPECT_THAT(json, HasSubstr("\"campaign_id\":42,\"cap\":10"));
  EXPECT_THAT(json, HasSubstr("\"approved\":10,\"waitlisted\":5"));
  EXPECT_THAT(json, HasSubstr("\"invariants\":{\"ok\":false"));
  EXPECT_THAT(json, HasSubstr("\"fcfs_violations\":3"));
  EXPECT_THAT(json, HasSubstr("\"applies_per_second\":30.000"));
  EXPECT_THAT(json, HasSubstr("\"decide_timed_out\":false"));
  EXPECT_THAT(json, Not(HasSubstr("\n")));
}

TEST(FormatStormJson, UnlimitedCapIsNull) {
  StormReport r = Sample();
  r.verdict.campaigns[0].cap.reset();
  EXPECT_THAT(FormatStormJson(r), HasSubstr("\"cap\":null"));
}

}  // namespace
}  // namespace campaignq::client
