// Ctrl+C for the generating subcommands (ask, chat): the first SIGINT while generating asks
// the running request to cancel (the front end polls interrupted()); a second one, or one
// while not generating, ends the process at once with 130. At the chat prompt
// (set_at_prompt) a press only interrupts the read: the prompt clears its line.
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
  // Marks the chat prompt as waiting for input: Ctrl+C then only counts (the prompt clears
  // its line) and interrupts the terminal read (the handler drops SA_RESTART meanwhile).
  static void set_at_prompt(bool on);
  // A Ctrl+C arrived since the last reset().
  static bool interrupted();
  static void reset();
};

}  // namespace mvl::cli
