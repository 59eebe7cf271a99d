// SIGINT plumbing. Design.md allows no globals in library code; this is front-end main-side
// signal plumbing, and a POSIX signal handler can only reach process-wide state, so it owns
// exactly one static: the lock-free atomics below (written by the handler, read by the
// polling loop of the request being generated).
#include "app/cli/signals.h"

#include <unistd.h>

#include <atomic>
#include <csignal>

namespace mvl::cli {
namespace {

struct SignalState {
  std::atomic<int> presses{0};
  std::atomic<bool> generating{false};
  struct sigaction previous {};
};
SignalState g_sig;  // the one static (see the file comment)
static_assert(std::atomic<int>::is_always_lock_free && std::atomic<bool>::is_always_lock_free);

extern "C" void on_sigint(int) {
  const int n = g_sig.presses.fetch_add(1) + 1;
  if (n >= 2 || !g_sig.generating.load()) {
    const char msg[] = "\n";
    (void)!::write(STDERR_FILENO, msg, sizeof(msg) - 1);
    ::_exit(130);
  }
}

}  // namespace

InterruptGuard::InterruptGuard() {
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &sa, &g_sig.previous);
  reset();
}

InterruptGuard::~InterruptGuard() { ::sigaction(SIGINT, &g_sig.previous, nullptr); }

void InterruptGuard::set_generating(bool on) { g_sig.generating.store(on); }
bool InterruptGuard::interrupted() { return g_sig.presses.load() > 0; }
void InterruptGuard::reset() { g_sig.presses.store(0); }

}  // namespace mvl::cli
