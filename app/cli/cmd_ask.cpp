// `minimax-vl ask`: one question, optionally about images, answered once. The answer is
// streamed to stdout token by token (or printed as one JSON object with --json); notes,
// progress and errors go to stderr. Exit 0 ok, 1 runtime, 2 usage, 3 load, 4 input, 130 ^C.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "app/cli/command.h"
#include "app/cli/generation_cli.h"
#include "app/cli/signals.h"
#include "kernels/core/file_io.h"

namespace mvl::cli {
namespace {

struct AskFlags {
  ModelFlags model;
  GenerationFlags gen;
  std::vector<std::string> images;
  std::vector<std::string> prompt_words;
  std::string prompt_flag;
  bool json = false;
  bool verbose = false;
};

// Capped: `yes | minimax-vl ask` must stop with one line, not grow until bad_alloc.
std::string read_stdin() {
  return input_phase(
      [] { return read_stream(STDIN_FILENO, kMaxStdinBytes, "the prompt on stdin"); });
}

// True when stdin is a pipe or a redirected file (not a terminal, not /dev/null).
bool stdin_is_data() {
  struct stat st {};
  return ::fstat(STDIN_FILENO, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISREG(st.st_mode));
}

// The prompt: the -p text or the positional words; "-" or nothing reads stdin. As in
// Ollama, piped stdin is appended to a prompt given as an argument
// (cat notes.txt | minimax-vl ask "Summarise this").
std::string resolve_prompt(const AskFlags& f) {
  std::string p = f.prompt_flag;
  for (const auto& w : f.prompt_words) p += (p.empty() ? "" : " ") + w;
  if (!p.empty() && p != "-" && stdin_is_data()) {
    std::string in = read_stdin();
    while (!in.empty() && (in.back() == '\n' || in.back() == '\r')) in.pop_back();
    if (!in.empty()) p += "\n\n" + in;
    return p;
  }
  if (p == "-" || p.empty()) {
    MVL_CHECK(p == "-" || ::isatty(STDIN_FILENO) != 1, invalid_argument,
              "no prompt: pass it as an argument (minimax-vl ask \"What is the total?\") or pipe it on stdin");
    p = read_stdin();
    while (!p.empty() && (p.back() == '\n' || p.back() == '\r')) p.pop_back();
  }
  MVL_CHECK(!p.empty(), invalid_argument,
            "the prompt is empty: pass it as an argument or pipe it on stdin");
  return p;
}

int run_ask(const AskFlags& f) {
  const std::string prompt = resolve_prompt(f);
  // Cheap checks first, so a typo in a path does not wait for a large model to load.
  input_phase([&] {
    for (const auto& path : f.images) check_image_path(path);
  });
  InterruptGuard guard;
  OpenStyle style;
  style.quiet = f.json;  // --json: stdout is one object and stderr stays clean
  auto eng = open_engine(f.model, style);

  engine::Request r;
  r.session = eng->new_session(f.gen.system);
  r.options = f.gen.options();
  input_phase([&] {
    for (const auto& path : f.images) {
      auto prepared = eng->prepare_image(path);
      if (f.verbose)  // the tile map: the grid the model will see and its tokens
        std::fprintf(stderr, "%s",
                     engine::format_tile_map(eng->tile_map(prepared->width, prepared->height), path,
                                             eng->max_context())
                         .c_str());
      r.content.push_back(engine::ContentPart::make_image(path, std::move(prepared)));
    }
  });
  // Images first, then the question: the layout of the official examples.
  r.content.push_back(engine::ContentPart::make_text(prompt));

  const engine::RequestHandle h = run_streaming(*eng, std::move(r), !f.json);
  throw_if_error(h);
  const engine::DoneEvent& d = *h.done();
  if (f.json) {
    json::Json j = result_json(d);
    j["model"] = model_json(*eng);
    j["sampling"] = {{"temperature", f.gen.temperature}, {"top_p", f.gen.top_p},  {"top_k", f.gen.top_k},
                     {"seed", f.gen.seed},               {"max_tokens", f.gen.max_tokens}};
    std::printf("%s\n", j.dump(2, ' ', false, json::Json::error_handler_t::replace).c_str());
  } else if (!d.text.empty() && d.text.back() != '\n') {
    std::printf("\n");
  }
  std::fflush(stdout);
  if (f.verbose) std::fprintf(stderr, "%s\n", stats_line(d).c_str());
  if (d.reason == engine::StopReason::cancelled) {
    std::fprintf(stderr, "minimax-vl: interrupted\n");
    return kExitInterrupted;
  }
  return kExitOk;
}

}  // namespace

void add_ask_command(CLI::App& app, RunFn& run) {
  auto f = std::make_shared<AskFlags>();
  CLI::App* cmd = app.add_subcommand(
      "ask",
      "Answer one question, optionally about images, streaming the answer to stdout.\n"
      "  minimax-vl ask --image invoice.png \"What is the total?\"\n"
      "  echo \"Describe both pages\" | minimax-vl ask --image p1.png --image p2.png --json\n"
      "Decoding is greedy by default (as the official MiniMax-VL-01 examples); --temp > 0 samples.");
  add_model_flags(*cmd, f->model);
  add_images_flag(*cmd, f->images, "Image file (PNG, JPEG, WebP, BMP, GIF, TIFF); repeatable, in order");
  cmd->add_option("question", f->prompt_words, "The question (or '-' / a pipe on stdin)")->type_name("PROMPT");
  add_prompt_flag(*cmd, f->prompt_flag, "The question, as an option");
  add_generation_flags(*cmd, f->gen);
  add_json_flag(*cmd, f->json,
                "Print one JSON object: answer, finish_reason, images, usage, timings, model");
  cmd->add_flag("-v,--verbose", f->verbose, "Print timings (load, encode, prefill, decode) and each image's tile map on stderr");
  cmd->callback([f, &run] { run = [f] { return run_ask(*f); }; });
}

}  // namespace mvl::cli
