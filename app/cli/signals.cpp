// SIGINT plumbing. Design.md allows no globals in library code; this is front-end main-side
// signal plumbing, and a POSIX signal handler can only reach process-wide state, so it owns
// exactly one static: the lock-free atomics below (written by the handler, read by the
// polling loop of the request being generated).
#include "app/cli/signals.h"

#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <csignal>

namespace mvl::cli {
namespace {

struct SignalState {
  std::atomic<int> presses{0};
  std::atomic<bool> generating{false};
  std::atomic<bool> at_prompt{false};
  std::atomic<unsigned long> prompt_thread{0};  // pthread_t of the thread reading the prompt
  struct sigaction previous {};
};
SignalState g_sig;  // the one static (see the file comment)
static_assert(std::atomic<int>::is_always_lock_free && std::atomic<bool>::is_always_lock_free &&
              std::atomic<unsigned long>::is_always_lock_free);

extern "C" void on_sigint(int) {
  if (g_sig.at_prompt.load()) {
    // The read must see EINTR, so the press has to land on the thread blocked in it; the
    // kernel may have picked an engine thread (pthread_kill is async-signal-safe).
    const pthread_t reader = static_cast<pthread_t>(g_sig.prompt_thread.load());
    if (!pthread_equal(pthread_self(), reader)) {
      ::pthread_kill(reader, SIGINT);
      return;
    }
    g_sig.presses.fetch_add(1);
    return;  // the prompt sees the press and clears its line
  }
  const int n = g_sig.presses.fetch_add(1) + 1;
  if (n >= 2 || !g_sig.generating.load()) {
    const char msg[] = "\n";
    (void)!::write(STDERR_FILENO, msg, sizeof(msg) - 1);
    ::_exit(130);
  }
}

void install(bool restart, struct sigaction* previous) {
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = restart ? SA_RESTART : 0;
  ::sigaction(SIGINT, &sa, previous);
}

}  // namespace

InterruptGuard::InterruptGuard() {
  install(true, &g_sig.previous);
  reset();
}

void InterruptGuard::set_at_prompt(bool on) {
  static_assert(sizeof(pthread_t) == sizeof(unsigned long));
  g_sig.prompt_thread.store(static_cast<unsigned long>(pthread_self()));
  g_sig.at_prompt.store(on);
  install(!on, nullptr);  // no SA_RESTART at the prompt: the blocked read returns EINTR
}

InterruptGuard::~InterruptGuard() { ::sigaction(SIGINT, &g_sig.previous, nullptr); }

void InterruptGuard::set_generating(bool on) { g_sig.generating.store(on); }
bool InterruptGuard::interrupted() { return g_sig.presses.load() > 0; }
void InterruptGuard::reset() { g_sig.presses.store(0); }

}  // namespace mvl::cli
