#pragma once
// What /proc says about the benchmark's child processes (started with the
// verification kit's launcher, common/verify/process.h): CPU time and peak
// resident memory.

#include <sys/types.h>

namespace bench {

// utime+stime of one process, in seconds.
double ProcessCpuSeconds(pid_t pid);
// Peak resident set (VmHWM) in KiB; 0 if unknown.
long PeakRssKib(pid_t pid);
// Resident set now (VmRSS) in KiB; 0 if unknown.
long RssKib(pid_t pid);
// CPU seconds of a PostgreSQL cluster: the postmaster, its reaped children
// (cutime+cstime) and its live children.
double ClusterCpuSeconds(pid_t postmaster);
pid_t ParentPid(pid_t pid);

}  // namespace bench
