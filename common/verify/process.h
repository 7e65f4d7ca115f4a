#pragma once
// The one child-process launcher (tests, benchmark, fault scenarios): a
// binary started with posix_spawn, its stdout read line by line through a
// pipe (to wait for a "ready" line), its stderr written to a log file; then
// signals (TERM, KILL, STOP, CONT) and a wait with a deadline.

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace campaignq::verify {

struct ProcessOptions {
  std::string binary;             // absolute path
  std::vector<std::string> args;  // without argv[0]
  // Added to (or replacing in) this process's environment; an empty value
  // removes the variable.
  std::map<std::string, std::string> env;
  // The child's stderr goes here (created/truncated). Required.
  std::string stderr_path;
};

// How a child ended.
struct ExitStatus {
  bool exited = false;  // true: code is valid; false: killed by `signal`
  int code = 0;
  int signal = 0;

  bool Success() const { return exited && code == 0; }
  std::string ToString() const;  // "exit 0", "signal 9 (Killed)"
};

class Process {
 public:
  // Starts the child. FAILED_PRECONDITION when the binary does not exist,
  // INTERNAL when spawning fails.
  static absl::StatusOr<std::unique_ptr<Process>> Start(ProcessOptions options);

  // Kills the child with SIGKILL if it still runs (a stopped one too), and
  // reaps it.
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // Waits for a stdout line starting with `prefix` (searching every line the
  // child printed so far) and returns it without its newline.
  // DEADLINE_EXCEEDED on timeout; FAILED_PRECONDITION when stdout closed
  // (the child exited) without such a line. Errors carry Describe().
  absl::StatusOr<std::string> WaitForLine(const std::string& prefix,
                                          std::chrono::steady_clock::time_point deadline);

  // Sends `signal` (SIGTERM, SIGKILL, SIGSTOP, SIGCONT, ...).
  // FAILED_PRECONDITION if reaped; INTERNAL if kill(2) fails.
  absl::Status Signal(int signal);

  // Waits for the child to end and reaps it. DEADLINE_EXCEEDED if it still
  // runs at the deadline (it keeps running: Signal(SIGKILL) and Wait again
  // to insist). Idempotent once reaped.
  absl::StatusOr<ExitStatus> Wait(std::chrono::steady_clock::time_point deadline);

  // Non-blocking: true while the child has not been reaped and waitpid says
  // it still runs.
  bool Running();

  pid_t pid() const { return pid_; }
  const std::string& stderr_path() const { return options_.stderr_path; }
  // Every stdout line so far.
  std::vector<std::string> StdoutLines();
  // Waits until the child's stdout reached EOF (all of it has been read),
  // then returns every line: for a child that has exited (see Wait()).
  absl::StatusOr<std::vector<std::string>> AllStdoutLines(
      std::chrono::steady_clock::time_point deadline);
  // "campaignq-server (pid 123), stderr: /tmp/..., last stderr lines: ...".
  std::string Describe();

 private:
  explicit Process(ProcessOptions options) : options_(std::move(options)) {}
  void ReadStdout();
  bool TryReap(bool block);

  const ProcessOptions options_;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::thread reader_;

  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> lines_;  // guarded by mutex_
  std::string partial_;             // reader thread only
  bool stdout_closed_ = false;      // guarded by mutex_
  bool stop_reader_ = false;        // guarded by mutex_
  bool reaped_ = false;
  ExitStatus exit_status_;
};

// The last `max_lines` lines of a file ("" if unreadable).
std::string TailOfFile(const std::string& path, int max_lines = 30);

}  // namespace campaignq::verify
