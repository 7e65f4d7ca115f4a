// db::NotificationListener (common/db/notification_listener.h) against the
// test PostgreSQL: delivers NOTIFYs, reconnects after its session is
// terminated and says so, stops cleanly. Every wait is on the listener's
// counters with a deadline; nothing sleeps. (Lives with the server's tests,
// whose DecisionListener is one of its two users, until tests/ has a
// db/ directory.)

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/db/notification_listener.h"
#include "support/test_postgres.h"

namespace campaignq::db {
namespace {

using Counters = NotificationListener::Counters;

std::chrono::steady_clock::time_point Within(std::chrono::seconds timeout) {
  return std::chrono::steady_clock::now() + timeout;
}

// What the callbacks saw.
struct Seen {
  std::mutex mutex;
  std::vector<std::string> payloads;
  std::vector<uint64_t> generations;
};

class NotificationListenerTest : public ::testing::Test {
 protected:
  NotificationListenerTest()
      : url_(testing::TestServerUrl()),
        channel_(absl::StrCat("listener_test_", getpid(), "_", ++counter_)) {}

  NotificationListenerOptions Options() const {
    NotificationListenerOptions options;
    options.database_url = url_;
    options.connect.application_name = "campaignq-listener-test";
    options.channel = channel_;
    options.reconnect_backoff = {std::chrono::milliseconds(10), std::chrono::milliseconds(100)};
    return options;
  }

  std::unique_ptr<NotificationListener> MakeListener(Seen* seen) {
    return std::make_unique<NotificationListener>(
        Options(),
        [seen](absl::string_view payload) {
          std::lock_guard<std::mutex> lock(seen->mutex);
          seen->payloads.emplace_back(payload);
        },
        [seen](uint64_t generation) {
          std::lock_guard<std::mutex> lock(seen->mutex);
          seen->generations.push_back(generation);
        });
  }

  void Notify(const std::string& payload) {
    pqxx::connection connection(url_);
    pqxx::nontransaction txn(connection);
    txn.exec_params("SELECT pg_notify($1, $2)", channel_, payload);
  }

  void Terminate(int pid) {
    pqxx::connection connection(url_);
    pqxx::nontransaction txn(connection);
    EXPECT_TRUE(txn.exec_params1("SELECT pg_terminate_backend($1)", pid)[0].as<bool>());
  }

  static inline int counter_ = 0;
  const std::string url_;
  const std::string channel_;
};

TEST_F(NotificationListenerTest, DeliversNotificationsOnItsChannel) {
  Seen seen;
  auto listener = MakeListener(&seen);
  listener->Start();
  listener->Start();  // idempotent
  EXPECT_TRUE(listener->running());
  ASSERT_TRUE(listener->WaitUntil([](const Counters& c) { return c.connects >= 1; },
                                  Within(std::chrono::seconds(30))));
  EXPECT_GT(listener->backend_pid(), 0);

  Notify("first");
  Notify("second");
  ASSERT_TRUE(listener->WaitUntil([](const Counters& c) { return c.notifications >= 2; },
                                  Within(std::chrono::seconds(30))));
  listener->Stop();
  std::lock_guard<std::mutex> lock(seen.mutex);
  EXPECT_EQ(seen.payloads, (std::vector<std::string>{"first", "second"}));
  EXPECT_EQ(seen.generations, (std::vector<uint64_t>{1}));
  EXPECT_EQ(listener->counters().connection_losses, 0u);
}

TEST_F(NotificationListenerTest, ReconnectsAfterItsSessionIsTerminatedAndSaysSo) {
  Seen seen;
  auto listener = MakeListener(&seen);
  listener->Start();
  ASSERT_TRUE(listener->WaitUntil([](const Counters& c) { return c.connects >= 1; },
                                  Within(std::chrono::seconds(30))));
  const int first_pid = listener->backend_pid();

  Terminate(first_pid);
  ASSERT_TRUE(listener->WaitUntil(
      [](const Counters& c) { return c.connects >= 2 && c.connection_losses >= 1; },
      Within(std::chrono::seconds(30))))
      << "connects=" << listener->counters().connects;
  EXPECT_NE(listener->backend_pid(), first_pid);

  // Listening again: a notification sent now arrives.
  Notify("after");
  ASSERT_TRUE(listener->WaitUntil([](const Counters& c) { return c.notifications >= 1; },
                                  Within(std::chrono::seconds(30))));
  listener->Stop();
  std::lock_guard<std::mutex> lock(seen.mutex);
  EXPECT_EQ(seen.generations, (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(seen.payloads, (std::vector<std::string>{"after"}));
}

TEST_F(NotificationListenerTest, StopIsIdempotentAndFineWithoutStart) {
  Seen seen;
  auto never_started = MakeListener(&seen);
  never_started->Stop();
  never_started->Stop();
  never_started->Start();  // after Stop: nothing
  EXPECT_FALSE(never_started->running());

  auto listener = MakeListener(&seen);
  listener->Start();
  listener->Stop();
  listener->Stop();
  EXPECT_FALSE(listener->running());
  EXPECT_EQ(listener->backend_pid(), 0);
}

TEST_F(NotificationListenerTest, PoolerSafeModeStartsNothing) {
  Seen seen;
  NotificationListenerOptions options = Options();
  options.connect.pooler_safe = true;
  NotificationListener listener(
      options, [](absl::string_view) {}, [](uint64_t) {});
  listener.Start();
  EXPECT_FALSE(listener.running());
  EXPECT_FALSE(
      listener.WaitUntil([](const Counters& c) { return c.connects + c.connect_failures > 0; },
                         std::chrono::steady_clock::now()));
}

}  // namespace
}  // namespace campaignq::db
