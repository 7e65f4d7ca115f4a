#pragma once
// Child processes (campaignq-server, campaignq-worker) and what /proc says
// about them: CPU time and peak resident memory.

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace bench {

// A child started with fork/exec; its stdout is a pipe we read lines from,
// its stderr goes to a log file.
class Child {
 public:
  Child(const std::string& binary, const std::vector<std::string>& args,
        const std::string& stderr_path);
  ~Child();  // SIGKILL + reap if still running
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // The first stdout line starting with `prefix`; throws on timeout/exit.
  std::string WaitForLine(const std::string& prefix, std::chrono::milliseconds timeout);
  void Signal(int sig);
  // True once the child has exited (reaps it without blocking).
  bool Exited();
  // Waits for exit; SIGKILL after `timeout`. Returns the wait status.
  int Wait(std::chrono::milliseconds timeout);
  pid_t pid() const { return pid_; }
  const std::string& log() const { return log_; }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  bool reaped_ = false;
  std::string buffer_;
  std::string log_;
  std::string name_;
};

// utime+stime of one process, in seconds.
double ProcessCpuSeconds(pid_t pid);
// Peak resident set (VmHWM) in KiB; 0 if unknown.
long PeakRssKib(pid_t pid);
// CPU seconds of a PostgreSQL cluster: the postmaster, its reaped children
// (cutime+cstime) and its live children.
double ClusterCpuSeconds(pid_t postmaster);
pid_t ParentPid(pid_t pid);

}  // namespace bench
