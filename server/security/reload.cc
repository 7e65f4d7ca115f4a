#include "server/security/reload.h"

#include <pthread.h>
#include <signal.h>

#include <utility>

namespace campaignq::server::security {
namespace {

sigset_t HangupOnly() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

void BlockReloadSignal() {
  const sigset_t set = HangupOnly();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

SighupReloader::SighupReloader(std::function<void()> on_sighup)
    : on_sighup_(std::move(on_sighup)), thread_([this] { Run(); }) {}

SighupReloader::~SighupReloader() {
  stopping_ = true;
  // Wakes the sigwait with a SIGHUP aimed at this thread alone.
  pthread_kill(thread_.native_handle(), SIGHUP);
  thread_.join();
}

void SighupReloader::Run() {
  const sigset_t set = HangupOnly();
  while (true) {
    int signal_number = 0;
    if (sigwait(&set, &signal_number) != 0) continue;
    if (stopping_) return;
    on_sighup_();
  }
}

}  // namespace campaignq::server::security
