#include "common/verify/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

extern char** environ;

namespace campaignq::verify {
namespace {

std::vector<std::string> BuildEnvironment(const std::map<std::string, std::string>& overrides) {
  std::map<std::string, std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string text = *entry;
    const size_t equals = text.find('=');
    if (equals == std::string::npos) continue;
    env[text.substr(0, equals)] = text.substr(equals + 1);
  }
  for (const auto& [key, value] : overrides) {
    if (value.empty()) {
      env.erase(key);
    } else {
      env[key] = value;
    }
  }
  std::vector<std::string> result;
  for (const auto& [key, value] : env) result.push_back(absl::StrCat(key, "=", value));
  return result;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

std::string BaseName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

std::string ExitStatus::ToString() const {
  if (exited) return absl::StrCat("exit ", code);
  return absl::StrCat("signal ", signal, " (", strsignal(signal), ")");
}

std::string TailOfFile(const std::string& path, int max_lines) {
  std::ifstream in(path);
  if (!in) return "";
  std::deque<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    lines.push_back(line);
    if (static_cast<int>(lines.size()) > max_lines) lines.pop_front();
  }
  return absl::StrJoin(lines, "\n");
}

absl::StatusOr<std::unique_ptr<Process>> Process::Start(ProcessOptions options) {
  if (options.binary.empty()) {
    return absl::FailedPreconditionError(
        "binary path is empty: the target did not exist when CMake configured the tests; "
        "re-run cmake after it is added");
  }
  if (::access(options.binary.c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("binary ", options.binary,
                     " is not an executable file: ", std::strerror(errno), " (build it first)"));
  }
  if (options.stderr_path.empty()) {
    return absl::InvalidArgumentError("ProcessOptions.stderr_path is required");
  }
  std::unique_ptr<Process> process(new Process(std::move(options)));
  const ProcessOptions& opts = process->options_;

  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe2: ", std::strerror(errno)));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_addopen(&actions, 2, opts.stderr_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
  // The child starts with default signal dispositions and no blocked signals.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<std::string> argv_strings{opts.binary};
  argv_strings.insert(argv_strings.end(), opts.args.begin(), opts.args.end());
  std::vector<std::string> env_strings = BuildEnvironment(opts.env);
  std::vector<char*> argv = CStrings(argv_strings);
  std::vector<char*> envp = CStrings(env_strings);

  pid_t pid = -1;
  const int rc = posix_spawn(&pid, opts.binary.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(out[1]);
  if (rc != 0) {
    ::close(out[0]);
    return absl::InternalError(absl::StrCat("posix_spawn ", opts.binary, ": ", std::strerror(rc)));
  }
  process->pid_ = pid;
  process->stdout_fd_ = out[0];
  process->reader_ = std::thread([p = process.get()] { p->ReadStdout(); });
  return process;
}

void Process::ReadStdout() {
  char buffer[4096];
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stop_reader_) break;
    }
    pollfd pfd{stdout_fd_, POLLIN, 0};
    const int ready = ::poll(&pfd, 1, 100);  // re-checks stop_reader_ 10x a second
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    const ssize_t n = ::read(stdout_fd_, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF or error
    partial_.append(buffer, static_cast<size_t>(n));
    std::vector<std::string> complete;
    size_t newline;
    while ((newline = partial_.find('\n')) != std::string::npos) {
      complete.push_back(partial_.substr(0, newline));
      partial_.erase(0, newline + 1);
    }
    if (!complete.empty()) {
      std::lock_guard<std::mutex> lock(mutex_);
      for (auto& line : complete) lines_.push_back(std::move(line));
      changed_.notify_all();
    }
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (!partial_.empty()) lines_.push_back(std::move(partial_));
  stdout_closed_ = true;
  changed_.notify_all();
}

absl::StatusOr<std::string> Process::WaitForLine(const std::string& prefix,
                                                 std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mutex_);
  size_t checked = 0;
  while (true) {
    for (; checked < lines_.size(); ++checked) {
      if (absl::StartsWith(lines_[checked], prefix)) return lines_[checked];
    }
    if (stdout_closed_) {
      lock.unlock();
      return absl::FailedPreconditionError(
          absl::StrCat("stdout closed (the process exited?) before a line starting with '", prefix,
                       "'; ", Describe()));
    }
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout &&
        checked == lines_.size() && !stdout_closed_) {
      lock.unlock();
      return absl::DeadlineExceededError(
          absl::StrCat("no stdout line starting with '", prefix, "' in time; ", Describe()));
    }
  }
}

absl::Status Process::Signal(int signal) {
  if (reaped_) return absl::FailedPreconditionError(absl::StrCat("pid ", pid_, " already reaped"));
  if (::kill(pid_, signal) != 0) {
    return absl::InternalError(
        absl::StrCat("kill(", pid_, ", ", signal, "): ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

bool Process::TryReap(bool block) {
  if (reaped_) return true;
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r != pid_) return false;
  reaped_ = true;
  if (WIFEXITED(status)) {
    exit_status_.exited = true;
    exit_status_.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    exit_status_.signal = WTERMSIG(status);
  }
  return true;
}

bool Process::Running() { return !TryReap(false); }

absl::StatusOr<ExitStatus> Process::Wait(std::chrono::steady_clock::time_point deadline) {
  while (!TryReap(false)) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("process still running at the deadline; ", Describe()));
    }
    // Polls waitpid: a child's exit has no file descriptor to wait on.
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        std::chrono::milliseconds(10), deadline - now));
  }
  return exit_status_;
}

std::vector<std::string> Process::StdoutLines() {
  std::lock_guard<std::mutex> lock(mutex_);
  return lines_;
}

absl::StatusOr<std::vector<std::string>> Process::AllStdoutLines(
    std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!changed_.wait_until(lock, deadline, [this] { return stdout_closed_; })) {
    lock.unlock();
    return absl::DeadlineExceededError(
        absl::StrCat("stdout still open at the deadline; ", Describe()));
  }
  return lines_;
}

std::string Process::Describe() {
  std::string text = absl::StrCat(BaseName(options_.binary), " (pid ", pid_, ")");
  if (reaped_) absl::StrAppend(&text, " ended with ", exit_status_.ToString());
  absl::StrAppend(&text, ", stderr log: ", options_.stderr_path);
  const std::string tail = TailOfFile(options_.stderr_path, 20);
  if (!tail.empty()) absl::StrAppend(&text, "\n--- last stderr lines ---\n", tail, "\n---");
  return text;
}

Process::~Process() {
  if (pid_ > 0 && !TryReap(false)) {
    ::kill(pid_, SIGKILL);  // a SIGSTOPped child dies of SIGKILL too
    TryReap(true);
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_reader_ = true;
  }
  if (reader_.joinable()) reader_.join();
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
}

}  // namespace campaignq::verify
