// `minimax-vl generate`: plain continuation with the text backbone (no chat template), a
// thin front end over the engine's raw requests (Request::Kind::raw): the same image
// encoding, prefill and sampler as `ask`, on the same device. The prompt is -p TEXT
// (tokenized with DIR/tokenizer.json, special tokens parsed) or --ids FILE of
// whitespace-separated ids ('-' = stdin); with --ids, each repeatable --image replaces the
// next image token id by that image's features. Streams the decoded text to stdout, or with
// --print-ids prints the generated ids.
#include <cstdio>
#include <ctime>

#include "app/cli/command.h"
#include "app/cli/generation_cli.h"
#include "app/cli/token_ids.h"

namespace mvl::cli {
namespace {

struct GenerateOptions {
  std::string model;
  std::string prompt;
  std::string ids_file;
  std::vector<std::string> images;
  int64_t max_new = 64;
  float temperature = 0.0f;
  int top_k = 0;
  float top_p = 1.0f;
  float repetition_penalty = 1.0f;
  uint64_t seed = 0;
  bool print_ids = false;
  bool ignore_eos = false;
  bool stats = false;
  std::string device = "cpu";  // "cpu", "cuda" or "cuda:N"
  std::string precision;       // "" = the device's default (bf16 on CUDA)
  std::string resize_compat = "classic";
  int tp = 1;     // tensor-parallel ranks
  int rank = -1;  // >= 0: one process per rank
  std::string rendezvous;
};

int run_generate(const GenerateOptions& o) {
  ModelFlags mf;
  mf.model_dir = o.model;
  mf.device = o.device;
  mf.precision = o.precision;
  mf.resize_compat = o.resize_compat;
  mf.tp = o.tp;
  mf.rank = o.rank;
  mf.rendezvous = o.rendezvous;
  OpenStyle style;
  style.note_default = false;
  style.require_tokenizer = false;  // --ids works on checkpoints without tokenizer.json
  style.prefill_chunk = 0;          // the whole prompt in one prefill, as the reference runs it
  const std::unique_ptr<engine::Engine> e = open_engine(mf, style);
  if (!o.prompt.empty() && !e->info().has_tokenizer) {
    load_phase([&] {
      throw_error(ErrorCategory::not_found,
                  fmt::format("no tokenizer.json in '{}' to encode -p; pass --ids FILE instead", e->info().dir));
    });
  }
  engine::Request r;
  r.kind = engine::Request::Kind::raw;
  if (o.prompt.empty()) r.raw.ids = input_phase([&] { return read_token_ids(o.ids_file); });
  else r.raw.text = o.prompt;
  r.raw.images = o.images;
  r.raw.ignore_eos = o.ignore_eos;
  r.options.max_tokens = o.max_new;
  r.options.sampling.temperature = o.temperature;
  r.options.sampling.top_k = o.top_k;
  r.options.sampling.top_p = o.top_p;
  r.options.sampling.repetition_penalty = o.repetition_penalty;
  r.options.sampling.seed = o.seed;
  const bool print_text = !o.print_ids && e->info().has_tokenizer;
  r.raw.detokenize = print_text;         // --print-ids never shows text: skip the detokenizer
  const std::clock_t c0 = std::clock();  // process CPU time: all threads, load-independent
  const engine::RequestHandle h = run_streaming(*e, std::move(r), print_text);
  const double cpu_s = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
  throw_if_error(h);
  const engine::DoneEvent& d = *h.done();
  if (print_text) {
    std::printf("\n");
  } else {
    std::string line;
    const size_t n = d.tokens.size() - (d.reason == engine::StopReason::eos ? 1 : 0);
    for (size_t i = 0; i < n; ++i) line += (i ? " " : "") + std::to_string(d.tokens[i]);
    std::printf("%s\n", line.c_str());
  }
  if (o.stats) {
    const auto& t = d.timings;
    std::fprintf(
        stderr,
        "prefill: %lld tokens in %.3f s (%.1f tok/s); decode: %lld tokens in %.3f s (%.1f tok/s); "
        "%.3f s CPU in all\n",
        static_cast<long long>(d.usage.prompt_tokens), t.prefill_ms / 1e3, t.prefill_tokens_per_s,
        static_cast<long long>(d.usage.completion_tokens), t.decode_ms / 1e3, t.decode_tokens_per_s,
        cpu_s);
  }
  return d.reason == engine::StopReason::cancelled ? kExitInterrupted : kExitOk;
}

}  // namespace

void add_generate_command(CLI::App& app, RunFn& run) {
  auto o = std::make_shared<GenerateOptions>();
  CLI::App* cmd = app.add_subcommand(
      "generate",
      "Continue a prompt with the language model (raw text or token ids, no chat template; the engine's\n"
      "raw requests, so the same image encoding, prefill and sampler as ask).\n"
      "With --ids, each --image replaces the next image token id in the ids by that image's features.");
  add_model_flag(*cmd, o->model, "Model directory (default: the bundled tiny model)");
  auto* p = add_prompt_flag(*cmd, o->prompt, "Prompt text (tokenized with the model's tokenizer.json)");
  auto* ids = cmd->add_option("--ids", o->ids_file, "File of whitespace-separated prompt token ids ('-' = stdin)");
  p->excludes(ids);
  add_images_flag(*cmd, o->images,
                  "Image for the next image token id in --ids (repeatable, in order); the token is "
                  "expanded to the image's token count")
      ->needs(ids);
  add_max_tokens_flag(*cmd, o->max_new, "Number of tokens to generate")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30));
  add_temp_flag(*cmd, o->temperature, "Sampling temperature; 0 = greedy");
  add_top_k_flag(*cmd, o->top_k, "Keep only the k most likely tokens (0 = off)");
  add_top_p_flag(*cmd, o->top_p, "Nucleus sampling mass in (0, 1] (1 = off)");
  add_repeat_penalty_flag(*cmd, o->repetition_penalty, "Repetition penalty (1 = off)");
  add_seed_flag(*cmd, o->seed, "Random seed for sampling");
  cmd->add_flag("--print-ids", o->print_ids, "Print the generated token ids (space-separated, one line) instead of text");
  cmd->add_flag("--ignore-eos", o->ignore_eos, "Keep generating past the end-of-sequence token");
  cmd->add_flag("--stats", o->stats, "Print prefill/decode speed to stderr");
  add_device_flag(*cmd, o->device,
                  "Where the model (both halves) runs: cpu, cuda or cuda:N (needs a build with the "
                  "CUDA backend)");
  add_precision_flag(*cmd, o->precision);
  add_resize_compat_flag(*cmd, o->resize_compat);
  add_tp_flag(*cmd, o->tp, o->rank, o->rendezvous);
  cmd->callback([o, &run, p, ids] {
    if (p->count() == 0 && ids->count() == 0) throw CLI::RequiredError("-p TEXT or --ids FILE");
    run = [o] { return run_generate(*o); };
  });
}

}  // namespace mvl::cli
