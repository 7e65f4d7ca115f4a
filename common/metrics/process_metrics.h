#pragma once
// The metrics every Prometheus client library exports about its process
// (process_cpu_seconds_total, process_resident_memory_bytes, ...) and
// campaignq_build_info, so stock dashboards and alerts work unchanged.
// Read from /proc/self at scrape time: nothing runs between scrapes.

#include <string>

#include "common/metrics/metrics.h"

namespace campaignq::metrics {

// process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_open_fds, process_max_fds,
// process_start_time_seconds (Linux /proc; samples that cannot be read are
// left out).
void AddProcessMetrics(Registry* registry);

// campaignq_build_info{component,version} 1: which build each process runs,
// for joins in queries ("by (version)") and for spotting a mixed rollout.
void AddBuildInfo(Registry* registry, const std::string& component, const std::string& version);

}  // namespace campaignq::metrics
