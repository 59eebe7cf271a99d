// `minimax-vl generate`: plain continuation with the text backbone (no chat template).
// The prompt is -p TEXT (tokenized with DIR/tokenizer.json, special tokens parsed) or
// --ids FILE of whitespace-separated ids ('-' = stdin); with --ids, each repeatable
// --image replaces the next image token id by that image's features (token_ids.h).
// Streams the decoded text to stdout, or with --print-ids prints the generated ids.
#include <chrono>
#include <ctime>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/cli/command.h"
#include "app/cli/generation_cli.h"
#include "app/cli/token_ids.h"
#include "app/engine/loading/model_config.h"
#include "kernels/core/safetensors.h"
#include "kernels/ops/device.h"
#include "kernels/ops/sampling.h"
#include "kernels/ops/tensor_ops.h"
#include "llm/model/text_model.h"
#include "llm/tokenizer/incremental_detokenizer.h"
#include "llm/tokenizer/tokenizer.h"

namespace mvl::cli {
namespace {

namespace fs = std::filesystem;

struct GenerateOptions {
  std::string model;
  std::string prompt;
  std::string ids_file;
  std::vector<std::string> images;
  int64_t max_new = 64;
  float temperature = 0.0f;
  int64_t top_k = 0;
  float top_p = 1.0f;
  float repetition_penalty = 1.0f;
  uint64_t seed = 0;
  bool print_ids = false;
  bool ignore_eos = false;
  bool stats = false;
  std::string device = "cpu";  // "cpu", "cuda" or "cuda:N"
  std::string precision;       // "" = the device's default (bf16 on CUDA)
  std::string resize_compat = "classic";
};

// "cpu" | "cuda" | "cuda:N" -> Device; throws Error{invalid_argument} otherwise.
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int run_generate(const GenerateOptions& o) {
  const std::string dir = o.model.empty() ? default_model_dir() : o.model;
  // The text model runs on --device (weights uploaded once as bf16 on a GPU); vision
  // features are computed on the CPU and moved to the device by prefill.
  const Device device = parse_device_flag(o.device);  // a bad value is a usage error (exit 2)
  const ops::DeviceContext dev = load_phase([&] { return ops::DeviceContext::open(device); });
  ParityModel m = load_parity_model(dir, dev, precision_flag(o.precision));
  const fs::path tok_path = fs::path(dir) / "tokenizer.json";
  std::error_code ec;
  std::optional<llm::Tokenizer> tok;
  if (!o.prompt.empty() || !o.print_ids) {
    if (fs::exists(tok_path, ec)) {
      tok = load_phase([&] { return llm::Tokenizer::from_file(tok_path.string()); });
    } else if (!o.prompt.empty()) {
      load_phase([&] {
        throw_error(ErrorCategory::not_found,
                    fmt::format("no tokenizer.json in '{}' to encode -p; pass --ids FILE instead", dir));
      });
    }
  }
  const std::vector<int32_t> prompt = input_phase([&] {
    std::vector<int32_t> ids = o.prompt.empty() ? read_token_ids(o.ids_file) : tok->encode(o.prompt, true);
    MVL_CHECK(!ids.empty(), invalid_argument, "the prompt encodes to no tokens");
    check_token_ids(ids, m.cfg.text.vocab_size);
    return ids;
  });
  const SplicedPrompt spliced = input_phase([&] {
    return splice_images(prompt, o.images, m.cfg, m.ckpt, resize_compat_flag(o.resize_compat));
  });

  const ops::SamplingParams sp{o.temperature, o.top_k, o.top_p, o.repetition_penalty};
  ops::Rng rng(o.seed);
  const bool print_text = !o.print_ids && tok.has_value();
  std::optional<llm::IncrementalDetokenizer> detok;
  if (print_text) detok.emplace(*tok, /*skip_special=*/true);

  llm::SequenceState state = m.model.new_state();
  // Wall time plus process CPU time (all threads): on a busy machine the CPU time shows
  // what the run would take alone.
  const auto t0 = std::chrono::steady_clock::now();
  const std::clock_t c0 = std::clock();
  Tensor logits = m.model.prefill(spliced.segments, state).select(0, 0);
  const double prefill_s = seconds_since(t0);
  const std::clock_t c1 = std::clock();
  std::vector<int32_t> history = prompt, generated;
  const auto t1 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < o.max_new; ++i) {
    // On a GPU, greedy decoding reduces on the device and reads back one id; sampling
    // needs the logits on the host.
    const bool device_greedy = logits.device().is_cuda() && sp.temperature <= 0.0f && sp.repetition_penalty == 1.0f;
    const int32_t next = device_greedy ? ops::argmax(logits)
                                       : ops::sample(logits.device().is_cpu() ? logits : ops::to_device(logits, Device::cpu()),
                                                     sp, rng, history);
    const bool eos = !o.ignore_eos && m.cfg.text.eos_token_id && next == *m.cfg.text.eos_token_id;
    if (eos) break;
    generated.push_back(next);
    history.push_back(next);
    if (print_text) {
      const std::string piece = detok->push(next);
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
    }
    if (i + 1 < o.max_new) logits = m.model.decode(next, state);
  }
  const double decode_s = seconds_since(t1);
  const std::clock_t c2 = std::clock();
  if (print_text) {
    const std::string rest = detok->flush() + "\n";
    std::fwrite(rest.data(), 1, rest.size(), stdout);
  } else {
    std::string line;
    for (size_t i = 0; i < generated.size(); ++i) line += (i ? " " : "") + std::to_string(generated[i]);
    std::printf("%s\n", line.c_str());
  }
  if (o.stats) {
    const double steps = generated.empty() ? 0.0 : static_cast<double>(generated.size() - 1);
    const double cpu_prefill = double(c1 - c0) / CLOCKS_PER_SEC, cpu_decode = double(c2 - c1) / CLOCKS_PER_SEC;
    std::fprintf(stderr,
                 "prefill: %zu tokens in %.3f s (%.1f tok/s; %.3f s CPU); decode: %zu tokens in %.3f s (%.1f tok/s; "
                 "%.3f s CPU)\n",
                 static_cast<size_t>(spliced.positions), prefill_s, spliced.positions / std::max(prefill_s, 1e-9),
                 cpu_prefill, generated.size(),
                 decode_s, steps / std::max(decode_s, 1e-9), cpu_decode);
  }
  return kExitOk;
}

}  // namespace

void add_generate_command(CLI::App& app, RunFn& run) {
  auto o = std::make_shared<GenerateOptions>();
  CLI::App* cmd = app.add_subcommand(
      "generate",
      "Continue a prompt with the language model (raw text or token ids, no chat template).\n"
      "With --ids, each --image replaces the next image token id in the ids by that image's features.");
  cmd->add_option("-m,--model", o->model, "Model directory (default: the bundled tiny model)");
  auto* p = cmd->add_option("-p,--prompt", o->prompt, "Prompt text (tokenized with the model's tokenizer.json)");
  auto* ids = cmd->add_option("--ids", o->ids_file, "File of whitespace-separated prompt token ids ('-' = stdin)");
  p->excludes(ids);
  cmd->add_option("--image", o->images,
                  "Image for the next image token id in --ids (repeatable, in order); the token is expanded to "
                  "the image's token count")
      ->needs(ids);
  cmd->add_option("-n,--max-new-tokens", o->max_new, "Number of tokens to generate")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30));
  cmd->add_option("--temp,--temperature", o->temperature, "Sampling temperature; 0 = greedy")
      ->capture_default_str()
      ->check(kFinite)
      ->check(CLI::Range(0.0f, 100.0f));
  cmd->add_option("--top-k", o->top_k, "Keep only the k most likely tokens (0 = off)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--top-p", o->top_p, "Nucleus sampling mass in (0, 1] (1 = off)")
      ->capture_default_str()
      ->check(kFinite)
      ->check(CLI::Range(1e-9f, 1.0f));
  cmd->add_option("--repeat-penalty", o->repetition_penalty, "Repetition penalty (1 = off)")
      ->capture_default_str()
      ->check(kFinite)
      ->check(CLI::Range(1e-3f, 100.0f));
  cmd->add_option("--seed", o->seed, "Random seed for sampling")
      ->check(kSeed)
      ->capture_default_str();
  cmd->add_flag("--print-ids", o->print_ids, "Print the generated token ids (space-separated, one line) instead of text");
  cmd->add_flag("--ignore-eos", o->ignore_eos, "Keep generating past the end-of-sequence token");
  cmd->add_flag("--stats", o->stats, "Print prefill/decode speed to stderr");
  cmd->add_option("--device", o->device,
                  "Where the text model runs: cpu, cuda or cuda:N (needs a build with the CUDA backend)")
      ->capture_default_str();
  add_precision_flag(*cmd, o->precision);
  add_resize_compat_flag(*cmd, o->resize_compat);
  cmd->callback([o, &run, p, ids] {
    if (p->count() == 0 && ids->count() == 0) throw CLI::RequiredError("-p TEXT or --ids FILE");
    run = [o] { return run_generate(*o); };
  });
}

}  // namespace mvl::cli
