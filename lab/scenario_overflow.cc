// campaign-overflow: concurrent check-then-apply to a capped campaign.

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/db/migrator.h"
#include "common/db/pg_status.h"
#include "common/db/pool.h"
#include "common/db/transaction.h"
#include "common/queue/claim.h"
#include "common/store/campaign_store.h"
#include "lab/barrier.h"
#include "lab/scenarios.h"
#include "lab_statements.h"

namespace campaignq::lab {
namespace {

constexpr int kDefaultClients = 8;
constexpr int kDefaultIterations = 4;  // applicants per client
constexpr int kDefaultCap = 10;
constexpr int kQueueWorkers = 4;
constexpr int kQueueBatchSize = 5;

std::string UserId(int client, int i) { return absl::StrCat("user-", client, "-", i); }

// Locked strategies: lock the campaign row, take a seat if one is left.
Step ApplyLocked(campaignq::sql::Statement lock, db::Connection& connection, Tally& tally,
                 const std::string& user) {
  db::ReadCommittedTransaction txn(connection);
  pqxx::result campaign = TimedLock(tally, [&] { return Run(txn, lock); });
  const bool seat = campaign[0][1].as<int64_t>() < campaign[0][0].as<int64_t>();
  if (seat) Run(txn, sql::kLabOverflowTakeSeat);
  Run(txn, sql::kLabOverflowInsert, user, seat ? "approved" : "waitlisted");
  txn.commit();
  return Step::kDone;
}

Step Apply(const std::string& strategy, db::Connection& connection, Tally& tally,
           CountingBarrier* barrier, const std::string& user) {
  if (strategy == "unsafe") {
    // The guide's check-then-insert, autocommit: no lock at the barrier.
    pqxx::nontransaction session(connection);
    pqxx::result check = Run(session, sql::kLabOverflowCheck);
    const bool seat = check[0][1].as<int64_t>() < check[0][0].as<int64_t>();
    if (!barrier->ArriveAndWait(kBarrierTimeout)) ++tally.barrier_timeouts;
    Run(session, sql::kLabOverflowInsert, user, seat ? "approved" : "waitlisted");
    return Step::kDone;
  }
  if (strategy == "for-update")
    return ApplyLocked(sql::kLabOverflowLockForUpdate, connection, tally, user);
  if (strategy == "for-no-key-update")
    return ApplyLocked(sql::kLabOverflowLockNoKey, connection, tally, user);
  if (strategy == "nowait")
    return ApplyLocked(sql::kLabOverflowLockNowait, connection, tally, user);
  if (strategy == "optimistic") {
    int64_t version = 0;
    {
      pqxx::nontransaction read(connection);
      pqxx::result campaign = Run(read, sql::kLabOverflowRead);
      if (campaign[0][1].as<int64_t>() >= campaign[0][0].as<int64_t>()) {
        // Full stays full: a stale "full" is still true.
        Run(read, sql::kLabOverflowInsert, user, "waitlisted");
        return Step::kDone;
      }
      version = campaign[0][2].as<int64_t>();
    }
    db::ReadCommittedTransaction txn(connection);
    if (Run(txn, sql::kLabOverflowTakeSeatIfVersion, version).empty()) {
      return Step::kRetry;  // someone took a seat since our read
    }
    Run(txn, sql::kLabOverflowInsert, user, "approved");
    txn.commit();
    return Step::kDone;
  }
  if (strategy == "constraint-only") {
    // Take the seat and let the CHECK refuse it when none is left.
    try {
      db::ReadCommittedTransaction txn(connection);
      Run(txn, sql::kLabOverflowTakeSeat);
      Run(txn, sql::kLabOverflowInsert, user, "approved");
      txn.commit();
    } catch (const pqxx::check_violation& error) {
      tally.Error(SqlStateOf(error), error.what());
      pqxx::nontransaction session(connection);
      Run(session, sql::kLabOverflowInsert, user, "waitlisted");
    }
    return Step::kDone;
  }
  // serializable: the unsafe check-then-insert inside SERIALIZABLE.
  pqxx::transaction<pqxx::serializable> txn(connection);
  pqxx::result check = Run(txn, sql::kLabOverflowCheck);
  const bool seat = check[0][1].as<int64_t>() < check[0][0].as<int64_t>();
  Run(txn, sql::kLabOverflowInsert, user, seat ? "approved" : "waitlisted");
  txn.commit();
  return Step::kDone;
}

// A URL whose sessions resolve unqualified names in `schema`, before
// pg_catalog (libpq "options", not SQL): the store's pooled connections need
// it, and so calls to pg_notify reach the schema's own (sql/lab/session.sql).
// The lab's schema names need no quoting (lower-case letters, digits, _).
std::string UrlWithSearchPath(const std::string& url, const std::string& schema) {
  const bool uri = url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
  if (uri) {
    return absl::StrCat(url, url.find('?') == std::string::npos ? "?" : "&",
                        "options=-csearch_path%3D", schema, "%2Cpg_catalog");
  }
  return absl::StrCat(url, " options='-csearch_path=", schema, ",pg_catalog'");
}

// When one Apply was sent and when its reply came.
struct ApplyTiming {
  std::string user;
  Clock::time_point sent, replied;
};

// FCFS by real time, as docs/architecture.md defines it for the queue: an Apply that
// returned before another was sent must not lose its seat to it. Counts
// (earlier waitlisted, later approved) pairs. Overlapping Applies have no
// order to keep (ids are taken at INSERT, visible at COMMIT).
int64_t RealTimeFcfsViolations(const std::vector<ApplyTiming>& timings,
                               const std::map<std::string, std::string>& status_by_user) {
  int64_t violations = 0;
  for (const ApplyTiming& earlier : timings) {
    auto e = status_by_user.find(earlier.user);
    if (e == status_by_user.end() || e->second != "waitlisted") continue;
    for (const ApplyTiming& later : timings) {
      auto l = status_by_user.find(later.user);
      if (l != status_by_user.end() && l->second == "approved" && earlier.replied < later.sent) {
        ++violations;
      }
    }
  }
  return violations;
}

// The queue itself: the real schema, the real Apply path (store::
// CampaignStore over a connection pool), and worker threads running the
// real claim-and-decide transaction.
absl::StatusOr<ClientsRun> RunQueue(ScenarioSchema& schema, int clients, int iterations, int cap,
                                    int64_t* campaign_id, std::vector<ApplyTiming>* timings) {
  std::mutex timings_mutex;
  absl::Status migrated = db::Migrate(schema.admin(), db::MigrateMode::kAuto);
  if (!migrated.ok()) return migrated;
  db::PoolOptions pool_options;
  pool_options.url = UrlWithSearchPath(schema.url(), schema.name());
  pool_options.connect.application_name = "campaignq-lab";
  pool_options.max_connections = clients;
  db::ConnectionPool pool(pool_options);
  store::CampaignStore store(&pool);
  v1::CreateCampaignRequest create;
  create.set_name("lab");
  create.set_max_participants(cap);
  create.set_waitlist(true);
  absl::StatusOr<v1::Campaign> campaign = store.CreateCampaign(create);
  if (!campaign.ok()) return campaign.status();
  *campaign_id = campaign->id();
  std::atomic<int> appliers_left{clients};
  const int64_t id = *campaign_id;
  return RunClients(
      schema, clients + kQueueWorkers, [&](int client, db::Connection& connection, Tally& tally) {
        if (client < clients) {
          // Appliers use the store (its pool), not their own connection.
          for (int i = 0; i < iterations; ++i) {
            const Clock::time_point start = Clock::now();
            ++tally.attempts;
            v1::ApplyRequest request;
            request.set_campaign_id(id);
            request.set_user_id(UserId(client, i));
            absl::StatusOr<v1::Application> applied = store.Apply(request);
            {
              std::lock_guard<std::mutex> lock(timings_mutex);
              timings->push_back({request.user_id(), start, Clock::now()});
            }
            if (applied.ok()) {
              ++tally.succeeded;
              tally.latencies_ms.push_back(MsSince(start));
            } else {
              const std::string state = db::SqlState(applied.status());
              tally.Error(state.empty() ? absl::StatusCodeToString(applied.status().code()) : state,
                          std::string(applied.status().message()));
            }
          }
          --appliers_left;
          return;
        }
        queue::WindowClaim claim;
        claim.batch_size = kQueueBatchSize;
        while (true) {
          const bool appliers_done = appliers_left.load() == 0;
          queue::BatchResult batch = queue::ClaimProtocol(&connection).DecideByWindow(claim);
          if (!batch.status.ok()) {
            const std::string state = db::SqlState(batch.status);
            tally.Error(state.empty() ? "other" : state, std::string(batch.status.message()));
            ++tally.extra["worker_retries"];
            continue;
          }
          if (batch.campaign_id != 0) {
            ++tally.extra["batches"];
            continue;
          }
          if (appliers_done) return;
          // Nothing claimable yet: poll, as a worker between notifications does.
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
      });
}

}  // namespace

absl::StatusOr<ScenarioReport> RunCampaignOverflow(const LabOptions& options,
                                                   ScenarioSchema& schema) {
  const int clients = options.ClientsOr(kDefaultClients);
  const int iterations = options.IterationsOr(kDefaultIterations);
  const int cap = options.CapOr(kDefaultCap);
  const int64_t applicants = static_cast<int64_t>(clients) * iterations;
  ScenarioReport report;
  report.name = "campaign-overflow";
  report.title = absl::StrCat(applicants, " applicants (", clients, " clients x ", iterations,
                              ") to one campaign capped at ", cap);
  report.violation_label = "approved over the cap + FCFS violations + approved_count drift";
  report.notes.push_back(
      "unsafe: every client checks the seat count, then all pass a barrier, then all insert: "
      "a round that starts below the cap approves all N");
  if (cap % clients == 0 || applicants <= cap) {
    report.notes.push_back(
        "warning: with cap a multiple of clients (or no more applicants than "
        "seats) the rounds land exactly on the cap and unsafe cannot overflow");
  }
  report.notes.push_back(absl::StrCat(
      "queue: the real migrations and store Apply (CampaignStore, pooled) from ", clients,
      " clients, decided by ", kQueueWorkers,
      " in-process worker threads (own connections) running queue::ClaimProtocol "
      "with FOR NO KEY UPDATE SKIP LOCKED, batch size ",
      kQueueBatchSize,
      "; its FCFS is checked by real time (an Apply that returned before another was sent), "
      "the others' by id (ids are taken under their lock)"));
  AdminScript(schema, sql::kLabOverflowSchema);
  for (const std::string strategy : {"unsafe", "for-update", "for-no-key-update", "nowait",
                                     "optimistic", "constraint-only", "serializable", "queue"}) {
    if (!options.Wants(strategy)) continue;
    StrategyResult result;
    result.strategy = strategy;
    result.unsafe = strategy == "unsafe";
    result.clients = clients;
    result.end_state = "approved";
    result.expected = std::min<int64_t>(cap, applicants);
    int64_t approved = 0, waitlisted = 0, approved_count = 0, fcfs = 0, pending = 0;
    if (strategy == "queue") {
      int64_t campaign_id = 0;
      std::vector<ApplyTiming> timings;
      auto run = RunQueue(schema, clients, iterations, cap, &campaign_id, &timings);
      if (!run.ok()) return run.status();
      Summarise(run->tally, run->seconds, &result);
      result.retries += result.extra["worker_retries"];
      pqxx::result tally = Admin(schema, sql::kLabQueueTally, campaign_id);
      approved = tally[0][0].as<int64_t>();
      waitlisted = tally[0][1].as<int64_t>();
      approved_count = tally[0][2].as<int64_t>();
      // tally[0][3], FCFS by id, does not apply to overlapping Applies.
      pending = tally[0][4].as<int64_t>();
      std::map<std::string, std::string> status_by_user;
      for (const auto& row : Admin(schema, sql::kLabQueueStatuses, campaign_id)) {
        status_by_user[row[0].as<std::string>()] = row[1].as<std::string>();
      }
      fcfs = RealTimeFcfsViolations(timings, status_by_user);
      result.note = absl::StrCat(kQueueWorkers, " worker threads");
    } else {
      AdminScript(schema, sql::kLabOverflowTruncate);
      Admin(schema, sql::kLabOverflowCampaignInsert, cap);
      auto barrier = std::make_unique<CountingBarrier>(clients);
      RetryPolicy policy;
      if (strategy == "nowait") {
        policy.retry_on = {db::kSqlstateLockNotAvailable};
        policy.backoff = true;
      }
      if (strategy == "serializable") policy.retry_on = {db::kSqlstateSerializationFailure};
      auto run =
          RunClients(schema, clients, [&](int client, db::Connection& connection, Tally& tally) {
            for (int i = 0; i < iterations; ++i) {
              const std::string user = UserId(client, i);
              if (!RunOperation(tally, policy, [&] {
                    return Apply(strategy, connection, tally, barrier.get(), user);
                  })) {
                barrier->Break();
              }
            }
          });
      if (!run.ok()) return run.status();
      Summarise(run->tally, run->seconds, &result);
      pqxx::result tally = Admin(schema, sql::kLabOverflowTally);
      approved = tally[0][0].as<int64_t>();
      waitlisted = tally[0][1].as<int64_t>();
      approved_count = tally[0][2].as<int64_t>();
      fcfs = tally[0][3].as<int64_t>();
      // Strategies that never maintain the counter column leave it at 0.
      if (strategy == "unsafe" || strategy == "serializable") approved_count = approved;
    }
    result.actual = approved;
    const int64_t overflow = std::max<int64_t>(0, approved - cap);
    const int64_t drift = approved_count == approved ? 0 : 1;
    result.violations = overflow + fcfs + drift;
    result.extra["overflow"] = overflow;
    result.extra["fcfs_violations"] = fcfs;
    result.extra["approved_count_drift"] = drift;
    result.extra["waitlisted"] = waitlisted;
    result.extra["pending_left"] = pending;
    if (strategy == "nowait") {
      result.extra["turned_away"] = result.Errors(db::kSqlstateLockNotAvailable);
    }
    if (strategy == "constraint-only") {
      result.extra["check_errors"] = result.Errors(db::kSqlstateCheckViolation);
    }
    report.results.push_back(std::move(result));
  }
  return report;
}

}  // namespace campaignq::lab
