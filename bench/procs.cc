#include "procs.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace bench {

Child::Child(const std::string& binary, const std::vector<std::string>& args,
             const std::string& stderr_path)
    : log_(stderr_path) {
  name_ = binary.substr(binary.find_last_of('/') + 1);
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
  int err = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (err < 0) throw std::runtime_error("cannot open " + stderr_path);
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    dup2(fds[1], 1);
    dup2(err, 2);
    close(fds[0]);
    close(fds[1]);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(binary.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  close(fds[1]);
  close(err);
  out_fd_ = fds[0];
}

Child::~Child() {
  if (!reaped_) {
    kill(pid_, SIGKILL);
    int status;
    waitpid(pid_, &status, 0);
  }
  if (out_fd_ >= 0) close(out_fd_);
}

std::string Child::WaitForLine(const std::string& prefix, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    size_t start = 0, nl;
    while ((nl = buffer_.find('\n', start)) != std::string::npos) {
      std::string line = buffer_.substr(start, nl - start);
      start = nl + 1;
      if (line.compare(0, prefix.size(), prefix) == 0) {
        buffer_.erase(0, start);
        return line;
      }
    }
    buffer_.erase(0, start);
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      throw std::runtime_error(name_ + ": no '" + prefix + "' line in time (log " + log_ + ")");
    pollfd p{out_fd_, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left.count()));
    if (r <= 0) continue;
    char chunk[4096];
    ssize_t n = read(out_fd_, chunk, sizeof chunk);
    if (n <= 0)
      throw std::runtime_error(name_ + " exited before '" + prefix + "' (log " + log_ + ")");
    buffer_.append(chunk, static_cast<size_t>(n));
  }
}

bool Child::Exited() {
  if (reaped_) return true;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) reaped_ = true;
  return reaped_;
}

void Child::Signal(int sig) {
  if (!reaped_) kill(pid_, sig);
}

int Child::Wait(std::chrono::milliseconds timeout) {
  if (reaped_) return 0;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) break;
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  reaped_ = true;
  return status;
}

namespace {
// Fields of /proc/<pid>/stat after the command name; index 0 is field 3.
std::vector<std::string> StatFields(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> fields;
  size_t close_paren = all.rfind(')');
  if (close_paren == std::string::npos) return fields;
  std::istringstream rest(all.substr(close_paren + 2));
  std::string f;
  while (rest >> f) fields.push_back(f);
  return fields;
}
const double kTick = static_cast<double>(sysconf(_SC_CLK_TCK));
}  // namespace

double ProcessCpuSeconds(pid_t pid) {
  auto f = StatFields(pid);
  if (f.size() < 15) return 0;
  return (std::atof(f[11].c_str()) + std::atof(f[12].c_str())) / kTick;  // utime, stime
}

pid_t ParentPid(pid_t pid) {
  auto f = StatFields(pid);
  return f.size() < 2 ? -1 : static_cast<pid_t>(std::atol(f[1].c_str()));
}

long PeakRssKib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

double ClusterCpuSeconds(pid_t postmaster) {
  auto f = StatFields(postmaster);
  if (f.size() < 15) return 0;
  double ticks = std::atof(f[11].c_str()) + std::atof(f[12].c_str()) +
                 std::atof(f[13].c_str()) + std::atof(f[14].c_str());  // + cutime, cstime
  DIR* dir = opendir("/proc");
  if (dir != nullptr) {
    while (dirent* e = readdir(dir)) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      pid_t pid = static_cast<pid_t>(std::atol(e->d_name));
      auto c = StatFields(pid);
      if (c.size() < 15 || std::atol(c[1].c_str()) != postmaster) continue;
      ticks += std::atof(c[11].c_str()) + std::atof(c[12].c_str());
    }
    closedir(dir);
  }
  return ticks / kTick;
}

}  // namespace bench
