#include "common/metrics/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace campaignq::metrics {
namespace {

using Samples = std::vector<Registry::Sample>;

// Fields of /proc/self/stat after the command name (which may hold spaces
// and parentheses, hence the last ')'), so fields[0] is field 3 (state).
std::vector<std::string> StatFields() {
  std::ifstream file("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  const size_t end_of_name = text.rfind(')');
  if (end_of_name == std::string::npos) return {};
  return absl::StrSplit(text.substr(end_of_name + 2), ' ', absl::SkipEmpty());
}

// Field number `n` of proc(5)'s /proc/[pid]/stat, as a double.
bool StatField(const std::vector<std::string>& fields, int n, double* value) {
  const size_t index = static_cast<size_t>(n - 3);
  return index < fields.size() && absl::SimpleAtod(fields[index], value);
}

double BootTimeSeconds() {
  std::ifstream file("/proc/stat");
  std::string key;
  double value = 0;
  while (file >> key) {
    if (key == "btime" && file >> value) return value;
    file.ignore(1 << 20, '\n');
  }
  return 0;
}

Samples One(double value) { return {{{}, value}}; }

}  // namespace

void AddProcessMetrics(Registry* registry) {
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page_bytes = static_cast<double>(sysconf(_SC_PAGESIZE));
  registry->AddCallback("process_cpu_seconds_total", "user and system CPU time spent, in seconds",
                        "counter", {}, [ticks] {
                          double user = 0, system = 0;
                          const auto fields = StatFields();
                          if (!StatField(fields, 14, &user) || !StatField(fields, 15, &system)) {
                            return Samples{};
                          }
                          return One((user + system) / ticks);
                        });
  registry->AddCallback(
      "process_resident_memory_bytes", "resident memory size, in bytes", "gauge", {}, [page_bytes] {
        double pages = 0;
        return StatField(StatFields(), 24, &pages) ? One(pages * page_bytes) : Samples{};
      });
  registry->AddCallback("process_virtual_memory_bytes", "virtual memory size, in bytes", "gauge",
                        {}, [] {
                          double bytes = 0;
                          return StatField(StatFields(), 23, &bytes) ? One(bytes) : Samples{};
                        });
  registry->AddCallback("process_open_fds", "open file descriptors", "gauge", {}, [] {
    DIR* dir = opendir("/proc/self/fd");
    if (dir == nullptr) return Samples{};
    double open = 0;
    while (const dirent* entry = readdir(dir)) {
      if (entry->d_name[0] != '.') ++open;
    }
    closedir(dir);
    return One(open - 1);  // not counting the descriptor opendir holds
  });
  registry->AddCallback("process_max_fds", "the open file descriptor limit", "gauge", {}, [] {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return Samples{};
    return One(static_cast<double>(limit.rlim_cur));
  });
  // Fixed for the process's life: computed once.
  double start_ticks = 0;
  const double start_time =
      StatField(StatFields(), 22, &start_ticks) ? BootTimeSeconds() + start_ticks / ticks : 0;
  registry->AddCallback("process_start_time_seconds",
                        "start time of the process since the Unix epoch, in seconds", "gauge", {},
                        [start_time] { return start_time > 0 ? One(start_time) : Samples{}; });
}

void AddBuildInfo(Registry* registry, const std::string& component, const std::string& version) {
  registry->AddCallback("campaignq_build_info", "always 1; labels say which build runs", "gauge",
                        {"component", "version"}, [component, version] {
                          return Samples{{{component, version}, 1}};
                        });
}

}  // namespace campaignq::metrics
