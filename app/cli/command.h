// The contract between main.cpp and the subcommand files. Each subcommand lives in one
// file (cmd_<name>.cpp) and defines add_<name>_command: it adds a CLI11 subcommand, binds
// its options, and when the subcommand is selected stores its run function in `run`.
// Run functions return the process exit code; errors are thrown and mapped in main.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <utility>

#include "kernels/core/error.h"

namespace mvl::cli {

// Exit codes (design.md): distinct per failure phase so scripts can tell them apart.
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;        // runtime failure
inline constexpr int kExitUsage = 2;        // bad flags
inline constexpr int kExitLoad = 3;         // the model could not be loaded
inline constexpr int kExitInput = 4;        // bad input: image, ids, prompt, file
inline constexpr int kExitInterrupted = 130;

using RunFn = std::function<int()>;

// An Error tagged with the exit code of the phase it came from.
class PhaseError : public Error {
 public:
  PhaseError(int exit_code, const Error& e) : Error(e), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

// Runs f(); an Error escaping it becomes a PhaseError with `exit_code`.
template <typename F>
decltype(auto) in_phase(int exit_code, F&& f) {
  try {
    return std::forward<F>(f)();
  } catch (const PhaseError&) {
    throw;
  } catch (const Error& e) {
    throw PhaseError(exit_code, e);
  }
}
template <typename F>
decltype(auto) load_phase(F&& f) { return in_phase(kExitLoad, std::forward<F>(f)); }
template <typename F>
decltype(auto) input_phase(F&& f) { return in_phase(kExitInput, std::forward<F>(f)); }

// The default model shipped in assets/ (a tiny random model), resolved relative to the
// executable's install/build location; see cmd_common.cpp.
std::string default_model_dir();

void add_info_command(CLI::App& app, RunFn& run);        // cmd_info.cpp
void add_tokenize_commands(CLI::App& app, RunFn& run);   // cmd_tokenize.cpp (tokenize, detokenize)
void add_generate_command(CLI::App& app, RunFn& run);    // cmd_generate.cpp
void add_logits_command(CLI::App& app, RunFn& run);      // cmd_logits.cpp
void add_preprocess_command(CLI::App& app, RunFn& run);  // cmd_preprocess.cpp
void add_ask_command(CLI::App& app, RunFn& run);         // cmd_ask.cpp
void add_chat_command(CLI::App& app, RunFn& run);        // cmd_chat.cpp
void add_make_tiny_command(CLI::App& app, RunFn& run);   // cmd_make_tiny.cpp
void add_bench_command(CLI::App& app, RunFn& run);       // cmd_bench.cpp
void add_eval_command(CLI::App& app, RunFn& run);        // cmd_eval.cpp
void add_serve_command(CLI::App& app, RunFn& run);       // cmd_serve.cpp
void add_quantize_command(CLI::App& app, RunFn& run);    // cmd_quantize.cpp

}  // namespace mvl::cli
