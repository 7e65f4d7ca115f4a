#include "common/verify/sampler.h"

#include <algorithm>
#include <memory>
#include <pqxx/pqxx>
#include <utility>

#include "absl/strings/str_cat.h"
#include "check_statements.h"
#include "common/db/transaction.h"
#include "common/verify/check_sql.h"

namespace campaignq::verify {
namespace {

constexpr size_t kMaxDetails = 5;

// One sample into `out`. Throws on a database error.
void SampleOnce(pqxx::connection& connection, const std::string& ids, int64_t lateness_ms,
                OfferSamples* out) {
  pqxx::nontransaction txn(connection);
  const pqxx::result rows = txn.exec_params(CheckSql(sql::kCheckSampleOffers), ids, lateness_ms);
  bool over = false, overdue = false;
  for (const auto& row : rows) {
    const int64_t campaign = row[0].as<int64_t>(), cap = row[1].as<int64_t>();
    const int64_t counted = row[2].as<int64_t>(), stored = row[3].as<int64_t>();
    const int64_t late = row[4].as<int64_t>(), late_ms = row[5].as<int64_t>();
    out->most_offered = std::max({out->most_offered, counted, stored});
    out->most_overdue_ms = std::max(out->most_overdue_ms, late_ms);
    if (std::max(counted, stored) > cap) {
      over = true;
      if (out->details.size() < kMaxDetails) {
        out->details.push_back(absl::StrCat("campaign ", campaign, " offered ", counted,
                                            " by its counters, ", stored, " by its rows, of ", cap,
                                            " seats"));
      }
    }
    if (lateness_ms > 0 && late > 0) {
      overdue = true;
      if (out->details.size() < kMaxDetails) {
        out->details.push_back(absl::StrCat("campaign ", campaign, ": ", late,
                                            " hold(s) still held ", late_ms,
                                            " ms after their expiry"));
      }
    }
  }
  ++out->samples;
  out->over_cap += over;
  out->overdue += overdue;
}

}  // namespace

OfferSampler::OfferSampler(std::string database_url, std::vector<int64_t> campaign_ids,
                           std::chrono::milliseconds hold_lateness,
                           std::chrono::milliseconds interval)
    : database_url_(std::move(database_url)),
      campaign_ids_(std::move(campaign_ids)),
      hold_lateness_(hold_lateness),
      interval_(interval),
      thread_([this] { Run(); }) {}

OfferSampler::~OfferSampler() { Stop(); }

void OfferSampler::Run() {
  const std::string ids = db::BigintArrayLiteral(campaign_ids_);
  std::unique_ptr<pqxx::connection> connection;
  for (bool last = false; !last;) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      last = stop_;  // after Stop(): one more sample, then out
    }
    const auto next = std::chrono::steady_clock::now() + interval_;
    try {
      if (connection == nullptr) connection = std::make_unique<pqxx::connection>(database_url_);
      SampleOnce(*connection, ids, hold_lateness_.count(), &samples_);
    } catch (const std::exception&) {
      // A database restarted mid-storm: the next sample reconnects.
      ++samples_.failed_samples;
      connection.reset();
    }
    // Paces the samples; Stop() ends the wait at once.
    std::unique_lock<std::mutex> lock(mutex_);
    stopped_.wait_until(lock, next, [&] { return stop_; });
  }
}

OfferSamples OfferSampler::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  stopped_.notify_all();
  if (thread_.joinable()) thread_.join();
  return samples_;
}

}  // namespace campaignq::verify
