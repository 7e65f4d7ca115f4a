#include "common/verify/process.h"

#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <string>

#include "gtest/gtest.h"

namespace campaignq::verify {
namespace {

using namespace std::chrono_literals;

std::string Log(const std::string& name) {
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/campaignq-verify-" + name + "-" +
         std::to_string(::getpid()) + ".log";
}

std::chrono::steady_clock::time_point In(std::chrono::steady_clock::duration d) {
  return std::chrono::steady_clock::now() + d;
}

TEST(Process, ReadyLineEnvironmentStderrAndExitCode) {
  auto process = Process::Start(
      {"/bin/sh",
       {"-c", "echo starting; echo \"ready $GREETING\"; echo oops >&2; read -r _ || exit 3"},
       {{"GREETING", "hello"}},
       Log("ready")});
  ASSERT_TRUE(process.ok()) << process.status();
  auto line = (*process)->WaitForLine("ready ", In(10s));
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(*line, "ready hello");
  auto exit = (*process)->Wait(In(10s));  // stdin is /dev/null: read fails
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_EQ(exit->ToString(), "exit 3");
  EXPECT_EQ(TailOfFile((*process)->stderr_path()), "oops");
}

TEST(Process, StopContinueTerminateAndWaitDeadline) {
  auto process = Process::Start({"/bin/sh", {"-c", "echo up; exec sleep 60"}, {}, Log("signals")});
  ASSERT_TRUE(process.ok()) << process.status();
  ASSERT_TRUE((*process)->WaitForLine("up", In(10s)).ok());
  ASSERT_TRUE((*process)->Signal(SIGSTOP).ok());
  ASSERT_TRUE((*process)->Signal(SIGCONT).ok());
  EXPECT_EQ((*process)->Wait(In(50ms)).status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE((*process)->Running());
  ASSERT_TRUE((*process)->Signal(SIGTERM).ok());
  auto exit = (*process)->Wait(In(10s));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_FALSE(exit->Success());
  EXPECT_EQ(exit->signal, SIGTERM);
  EXPECT_EQ((*process)->Signal(SIGTERM).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(Process, MissingBinaryAndEarlyExitAreErrors) {
  EXPECT_EQ(Process::Start({"/nonexistent/binary", {}, {}, Log("missing")}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  auto process = Process::Start({"/bin/sh", {"-c", "exit 0"}, {}, Log("early")});
  ASSERT_TRUE(process.ok());
  EXPECT_EQ((*process)->WaitForLine("ready", In(10s)).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace campaignq::verify
