// Ctrl+C for the generating subcommands (ask, chat): the first SIGINT while generating asks
// the running request to cancel (the front end polls interrupted()); a second one, or one
// while not generating (e.g. at the chat prompt), ends the process at once with 130.
// The handler only touches lock-free atomics and calls async-signal-safe write/_exit.
#pragma once

namespace mvl::cli {

class InterruptGuard {
 public:
  InterruptGuard();   // installs the SIGINT handler
  ~InterruptGuard();  // restores the previous one
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

  // Marks a generation as running (first Ctrl+C cancels) or not (Ctrl+C exits).
  static void set_generating(bool on);
  // A Ctrl+C arrived since the last reset().
  static bool interrupted();
  static void reset();
};

}  // namespace mvl::cli
