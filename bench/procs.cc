#include "procs.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace bench {

namespace {
// Fields of /proc/<pid>/stat after the command name; index 0 is field 3.
// Empty when the process is gone. read(2), not an ifstream: a process that
// exits between open and read makes the read fail with ESRCH, which
// libstdc++'s filebuf throws as an exception (it ended a W3 run once, while
// ClusterCpuSeconds walked the cluster's backends).
std::vector<std::string> StatFields(pid_t pid) {
  std::vector<std::string> fields;
  const int fd = open(("/proc/" + std::to_string(pid) + "/stat").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fields;
  std::string all;
  char buffer[4096];
  for (ssize_t n; (n = read(fd, buffer, sizeof buffer)) > 0;) all.append(buffer, n);
  close(fd);
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

namespace {
// A "Key:   N kB" line of /proc/<pid>/status, in KiB; 0 if absent.
long StatusKib(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) return std::atol(line.c_str() + key.size());
  }
  return 0;
}
}  // namespace

long PeakRssKib(pid_t pid) { return StatusKib(pid, "VmHWM:"); }

long RssKib(pid_t pid) { return StatusKib(pid, "VmRSS:"); }

double ClusterCpuSeconds(pid_t postmaster) {
  auto f = StatFields(postmaster);
  if (f.size() < 15) return 0;
  double ticks = std::atof(f[11].c_str()) + std::atof(f[12].c_str()) + std::atof(f[13].c_str()) +
                 std::atof(f[14].c_str());  // + cutime, cstime
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
