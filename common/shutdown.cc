#include "common/shutdown.h"

#include <pthread.h>
#include <signal.h>

#include <cerrno>

namespace campaignq {
namespace {

sigset_t TerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

void BlockTerminationSignals() {
  sigset_t set = TerminationSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // A closed peer socket must surface as an error, not kill the process.
  signal(SIGPIPE, SIG_IGN);
}

int WaitForTerminationSignal() {
  sigset_t set = TerminationSignals();
  int signal_number = 0;
  while (sigwait(&set, &signal_number) != 0) {
  }
  return signal_number;
}

bool SleepUnlessTerminated(std::chrono::milliseconds duration) {
  const sigset_t set = TerminationSignals();
  const auto end = std::chrono::steady_clock::now() + duration;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(
        end - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    timespec timeout{static_cast<time_t>(left.count() / 1000000000),
                     static_cast<long>(left.count() % 1000000000)};
    if (sigtimedwait(&set, nullptr, &timeout) > 0) return true;
    if (errno == EAGAIN) return false;
    // EINTR: another signal interrupted the wait; keep waiting.
  }
}

}  // namespace campaignq
