#pragma once
// Reload on SIGHUP (tokens file, JWT keys), the Unix convention for "re-read
// your configuration". The process blocks SIGINT/SIGTERM in every thread
// and takes them with sigwait (common/shutdown.h); SIGHUP follows the same
// pattern instead of an async signal handler: BlockReloadSignal() at the
// start of main (before any thread exists, so every thread inherits the
// mask), and one SighupReloader thread that sigwaits on SIGHUP alone and
// runs the callback on its own thread, where taking locks and reading files
// is safe. (TLS certificates need no signal: credentials.h.)

#include <atomic>
#include <functional>
#include <thread>

namespace campaignq::server::security {

// Blocks SIGHUP in the calling thread (and threads started later).
void BlockReloadSignal();

class SighupReloader {
 public:
  // Starts the thread; SIGHUP must be blocked (BlockReloadSignal) in every
  // thread, or the default action kills the process first.
  explicit SighupReloader(std::function<void()> on_sighup);
  ~SighupReloader();  // stops and joins the thread
  SighupReloader(const SighupReloader&) = delete;
  SighupReloader& operator=(const SighupReloader&) = delete;

 private:
  void Run();

  std::function<void()> on_sighup_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace campaignq::server::security
