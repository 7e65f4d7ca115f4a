#pragma once
// Paths of the built campaignq binaries, passed from CMake as compile
// definitions ($<TARGET_FILE:...>, tests/support/CMakeLists.txt). Empty only
// when compiled outside that build; RequireBinary() then fails the test with
// a clear message.

#include <string>

#ifndef CAMPAIGNQ_SERVER_BINARY
#define CAMPAIGNQ_SERVER_BINARY ""
#endif
#ifndef CAMPAIGNQ_WORKER_BINARY
#define CAMPAIGNQ_WORKER_BINARY ""
#endif
#ifndef CAMPAIGNQ_CLIENT_BINARY
#define CAMPAIGNQ_CLIENT_BINARY ""
#endif

namespace campaignq::testing {

inline constexpr char kServerBinary[] = CAMPAIGNQ_SERVER_BINARY;  // campaignq-server
inline constexpr char kWorkerBinary[] = CAMPAIGNQ_WORKER_BINARY;  // campaignq-worker
inline constexpr char kClientBinary[] = CAMPAIGNQ_CLIENT_BINARY;  // campaignq (CLI)

}  // namespace campaignq::testing
