#include "lab/session.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/backoff.h"
#include "common/db/connect.h"
#include "common/db/pg_status.h"
#include "common/log.h"
#include "lab_statements.h"

namespace campaignq::lab {
namespace {

using campaignq::sql::Statement;

const std::map<std::string, std::string>& LabStatements() {
  static const auto* statements = new std::map<std::string, std::string>(
      campaignq::sql::NamedStatementsOf(sql::LabQueryFiles()));
  return *statements;
}

// Safety nets, not part of any strategy: a blocked statement gives up
// (55P03 / 57014) instead of hanging the lab.
constexpr char kLockTimeout[] = "10s";
constexpr char kStatementTimeout[] = "30s";
// RetryPolicy::first_backoff doubles up to this many times itself.
constexpr int kMaxBackoffFactor = 32;

}  // namespace

const std::string& LabSql(Statement statement) {
  auto it = LabStatements().find(statement.name);
  if (it == LabStatements().end()) {
    std::fprintf(stderr, "campaignq lab: no SQL statement named %s\n", statement.name);
    std::abort();
  }
  return it->second;
}

void RunScript(pqxx::transaction_base& txn, Statement statement) { txn.exec(LabSql(statement)); }

std::string SqlStateOf(const std::exception& error) {
  std::string state = db::SqlState(db::StatusFromException(error));
  return state.empty() ? "other" : state;
}

absl::StatusOr<std::unique_ptr<db::Connection>> OpenLabConnection(const std::string& url,
                                                                  const std::string& schema) {
  db::ConnectOptions options;
  options.application_name = "campaignq-lab";
  auto connection = db::Connect(url, options);
  if (!connection.ok()) return connection.status();
  try {
    for (const auto& [name, text] : LabStatements()) (*connection)->prepare(name, text);
    pqxx::nontransaction session(**connection);
    Run(session, sql::kLabSetSearchPath, schema);
    Run(session, sql::kLabSetConfig, "lock_timeout", kLockTimeout);
    Run(session, sql::kLabSetConfig, "statement_timeout", kStatementTimeout);
  } catch (const std::exception& error) {
    return db::StatusFromException(error);
  }
  return connection;
}

absl::StatusOr<bool> ServiceSchemaExists(const std::string& url) {
  db::ConnectOptions options;
  options.application_name = "campaignq-lab";
  auto connection = db::Connect(url, options);
  if (!connection.ok()) return connection.status();
  try {
    pqxx::nontransaction txn(**connection);
    return txn.exec(LabSql(sql::kLabServiceSchemaExists))[0][0].as<bool>();
  } catch (const std::exception& error) {
    return db::StatusFromException(error);
  }
}

absl::StatusOr<std::unique_ptr<ScenarioSchema>> ScenarioSchema::Create(const std::string& url,
                                                                       const std::string& scenario,
                                                                       uint64_t seed) {
  // The name is the lab's own: lab_<scenario>_<hex>, lower-case letters,
  // digits and underscores; it still reaches SQL only as a parameter.
  std::mt19937_64 random(seed ^ static_cast<uint64_t>(Clock::now().time_since_epoch().count()));
  std::string name =
      absl::StrCat("lab_", scenario, "_", absl::StrFormat("%08x", random() & 0xffffffffu));
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  db::ConnectOptions options;
  options.application_name = "campaignq-lab";
  auto owner = db::Connect(url, options);
  if (!owner.ok()) return owner.status();
  try {
    for (const auto& [statement_name, text] : LabStatements())
      (*owner)->prepare(statement_name, text);
    pqxx::work txn(**owner);
    RunScript(txn, sql::kLabSchemaFunctions);
    Run(txn, sql::kLabCreateSchema, name);
    txn.commit();
  } catch (const std::exception& error) {
    return db::StatusFromException(error);
  }
  auto admin = OpenLabConnection(url, name);
  if (!admin.ok()) return admin.status();
  return std::unique_ptr<ScenarioSchema>(
      new ScenarioSchema(url, name, std::move(*admin), std::move(*owner)));
}

ScenarioSchema::ScenarioSchema(std::string url, std::string name,
                               std::unique_ptr<db::Connection> admin,
                               std::unique_ptr<db::Connection> owner)
    : url_(std::move(url)),
      name_(std::move(name)),
      admin_(std::move(admin)),
      owner_(std::move(owner)) {}

ScenarioSchema::~ScenarioSchema() {
  admin_.reset();
  try {
    pqxx::work txn(*owner_);
    Run(txn, sql::kLabDropSchema, name_);
    txn.commit();
  } catch (const std::exception& error) {
    LogWarning("lab", "could not drop schema ", name_, ": ", error.what());
  }
}

void AdminScript(ScenarioSchema& schema, Statement statement) {
  pqxx::work txn(schema.admin());
  RunScript(txn, statement);
  txn.commit();
}

absl::StatusOr<ClientsRun> RunClients(const ScenarioSchema& schema, int clients,
                                      const ClientBody& body) {
  std::vector<std::unique_ptr<db::Connection>> connections;
  for (int i = 0; i < clients; ++i) {
    auto connection = OpenLabConnection(schema.url(), schema.name());
    if (!connection.ok()) return connection.status();
    connections.push_back(std::move(*connection));
  }
  std::vector<Tally> tallies(clients);
  // A start line, not a race window: every thread is ready before the clock.
  std::mutex mutex;
  std::condition_variable start_changed;
  int ready = 0;
  bool go = false;
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i) {
    threads.emplace_back([&, i] {
      {
        std::unique_lock<std::mutex> lock(mutex);
        ++ready;
        start_changed.notify_all();
        start_changed.wait(lock, [&] { return go; });
      }
      try {
        body(i, *connections[i], tallies[i]);
      } catch (const std::exception& error) {
        tallies[i].Error(SqlStateOf(error), error.what());
      }
    });
  }
  Clock::time_point start;
  {
    std::unique_lock<std::mutex> lock(mutex);
    start_changed.wait(lock, [&] { return ready == clients; });
    go = true;
    start = Clock::now();
    start_changed.notify_all();
  }
  for (auto& thread : threads) thread.join();
  ClientsRun run;
  run.seconds = MsSince(start) / 1000.0;
  for (const Tally& tally : tallies) run.tally.Merge(tally);
  return run;
}

bool RunOperation(Tally& tally, const RetryPolicy& policy, const std::function<Step()>& attempt) {
  const Clock::time_point start = Clock::now();
  for (int tries = 0; tries < policy.max_tries; ++tries) {
    if (tries > 0) {
      ++tally.retries;
      if (policy.backoff) {
        // Doubling (to 32x, jittered): long enough for the holder to commit.
        thread_local absl::BitGen random;
        std::this_thread::sleep_for(JitteredBackoff(
            {policy.first_backoff, policy.first_backoff * kMaxBackoffFactor}, tries - 1, random));
      }
    }
    ++tally.attempts;
    try {
      if (attempt() == Step::kDone) {
        ++tally.succeeded;
        tally.latencies_ms.push_back(MsSince(start));
        return true;
      }
    } catch (const std::exception& error) {
      const std::string state = SqlStateOf(error);
      tally.Error(state, error.what());
      if (std::find(policy.retry_on.begin(), policy.retry_on.end(), state) ==
          policy.retry_on.end()) {
        return false;
      }
    }
  }
  return false;
}

pqxx::result TimedLock(Tally& tally, const std::function<pqxx::result()>& lock) {
  const Clock::time_point start = Clock::now();
  pqxx::result result = lock();
  if (MsSince(start) >= kLockWaitThresholdMs) ++tally.lock_waits;
  return result;
}

}  // namespace campaignq::lab
