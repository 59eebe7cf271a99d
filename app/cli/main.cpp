// minimax-vl: the command-line front end. Wires the subcommands together, parses flags
// and maps errors to one line on stderr (a JSON object with --json) plus a distinct exit code.
#include <cstdio>
#include <string>

#include "app/cli/command.h"
#include "app/engine/core/build_info.h"
#include "kernels/core/json.h"

namespace {

// With --json anywhere on the line, an error is one JSON object on stderr instead of a line
// of text, so a script reading the command's JSON also gets its failures as JSON:
// {"error": {"message": "...", "type": "not_found", "exit_code": 3}}.
int fail(bool json_errors, const std::string& message, const char* type, int exit_code) {
  if (json_errors) {
    const mvl::json::Json j{
        {"error", {{"message", message}, {"type", type}, {"exit_code", exit_code}}}};
    std::fprintf(stderr, "%s\n",
                 j.dump(-1, ' ', false, mvl::json::Json::error_handler_t::replace).c_str());
  } else {
    std::fprintf(stderr, "minimax-vl: error: %s\n", message.c_str());
  }
  return exit_code;
}

}  // namespace

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
  add_quantize_command(app, run);
  bool json_errors = false;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--") break;
    if (std::string(argv[i]) == "--json") json_errors = true;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0 || !json_errors) {
      const int code = app.exit(e);
      return code == 0 ? kExitOk : kExitUsage;
    }
    return fail(json_errors, e.what(), "usage", kExitUsage);
  }
  try {
    return run ? run() : kExitUsage;
  } catch (const PhaseError& e) {
    return fail(json_errors, e.what(), mvl::category_name(e.category()), e.exit_code());
  } catch (const mvl::Error& e) {
    return fail(json_errors, e.what(), mvl::category_name(e.category()),
                e.category() == mvl::ErrorCategory::invalid_argument ? kExitUsage : kExitError);
  } catch (const std::exception& e) {
    return fail(json_errors, e.what(), "internal", kExitError);
  }
}
