// minimax-vl: the command-line front end. Wires the subcommands together, parses flags
// and maps errors to one line on stderr plus a distinct exit code.
#include <cstdio>

#include "app/cli/command.h"
#include "app/engine/core/build_info.h"

int main(int argc, char** argv) {
  using namespace mvl::cli;
  CLI::App app{
      "minimax-vl: run MiniMax-VL-01 (vision-language, 456B MoE) locally.\n"
      "Examples:\n"
      "  minimax-vl ask --image doc.png \"What is the total?\"\n"
      "  minimax-vl chat -m /models/MiniMax-VL-01\n"
      "  minimax-vl info -m /models/MiniMax-VL-01 --tp 8\n",
      "minimax-vl"};
  app.require_subcommand(1);
  app.set_version_flag("--version", mvl::engine::version_text("minimax-vl"));
  app.set_help_all_flag("--help-all", "Show help for every subcommand");
  RunFn run;
  add_ask_command(app, run);
  add_chat_command(app, run);
  add_info_command(app, run);
  add_preprocess_command(app, run);
  add_tokenize_commands(app, run);
  add_generate_command(app, run);
  add_logits_command(app, run);
  add_make_tiny_command(app, run);
  add_bench_command(app, run);
  add_eval_command(app, run);
  add_serve_command(app, run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  try {
    return run ? run() : kExitUsage;
  } catch (const PhaseError& e) {
    std::fprintf(stderr, "minimax-vl: error: %s\n", e.what());
    return e.exit_code();
  } catch (const mvl::Error& e) {
    std::fprintf(stderr, "minimax-vl: error: %s\n", e.what());
    return e.category() == mvl::ErrorCategory::invalid_argument ? kExitUsage : kExitError;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "minimax-vl: error: %s\n", e.what());
    return kExitError;
  }
}
