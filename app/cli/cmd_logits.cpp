// `minimax-vl logits`: teacher-forced logits of every prompt position, for parity checks
// against a reference. Input: whitespace-separated token ids (FILE or '-' for stdin).
// Each repeatable --image replaces the next image token id by that image's features, so the
// rows cover the expanded sequence. Output: a safetensors file with one F32 tensor
// `logits` [n_positions, vocab_size]. --tp N splits the text model over N ranks (CPU threads,
// or GPUs cuda:K..K+N-1); its logits equal --tp 1's within float rounding (docs/parallel.md).
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/cli/command.h"
#include "app/cli/generation_cli.h"
#include "app/cli/token_ids.h"
#include "app/engine/loading/model_config.h"
#include "app/engine/loading/sharded_parity.h"
#include "kernels/core/safetensors.h"
#include "kernels/ops/tensor_ops.h"
#include "llm/model/text_model.h"

namespace mvl::cli {
namespace {

struct LogitsOptions {
  std::string model, ids_file, out;
  std::vector<std::string> images;
  int64_t chunk = 0;
  std::string device = "cpu";  // "cpu", "cuda" or "cuda:N"
  std::string precision;       // "" = the device's default
  int tp = 1;                  // tensor-parallel ranks
  std::string resize_compat = "classic";
};

int run_logits(const LogitsOptions& o) {
  const std::string dir = o.model.empty() ? default_model_dir() : o.model;
  const Device device = parse_device_flag(o.device);  // a bad value is a usage error (exit 2)
  if (o.tp > 1) {  // the text model over o.tp ranks: CPU threads, or GPUs from --device on
    const engine::ShardedParityModel m = load_phase([&] {
      return in_context(fmt::format("loading model '{}' over {} ranks", dir, o.tp), [&] {
        return engine::ShardedParityModel::open(dir, o.tp, device, precision_flag(o.precision));
      });
    });
    const SplicedPrompt spliced = input_phase([&] {
      const std::vector<int32_t> ids = read_token_ids(o.ids_file);
      check_token_ids(ids, m.config().text.vocab_size);
      return splice_images(ids, o.images, m.config(), m.checkpoint(),
                           resize_compat_flag(o.resize_compat));
    });
    SafetensorsWriter w;
    w.add("logits", m.logits(spliced.segments, o.chunk));
    w.set_metadata("model", dir);
    w.set_metadata("tp", std::to_string(o.tp));
    w.write(o.out);
    std::fprintf(stderr, "wrote %s: logits [%lld, %lld] (text model over %d %s ranks)\n",
                 o.out.c_str(), static_cast<long long>(spliced.positions),
                 static_cast<long long>(m.config().text.vocab_size), o.tp,
                 device.is_cuda() ? "GPU" : "CPU");
    return kExitOk;
  }
  const ops::DeviceContext dev = load_phase([&] { return ops::DeviceContext::open(device); });
  ParityModel m = load_parity_model(dir, dev, precision_flag(o.precision));
  const SplicedPrompt spliced = input_phase([&] {
    const std::vector<int32_t> ids = read_token_ids(o.ids_file);
    check_token_ids(ids, m.cfg.text.vocab_size);
    return splice_images(ids, o.images, m.cfg, m.ckpt, resize_compat_flag(o.resize_compat));
  });
  llm::SequenceState state = m.model.new_state();
  llm::PrefillOptions opts;
  opts.all_logits = true;
  opts.chunk_size = o.chunk;
  const Tensor logits = m.model.prefill(spliced.segments, state, opts);
  SafetensorsWriter w;
  w.add("logits", logits.device().is_cpu() ? logits : ops::to_device(logits, Device::cpu()));
  w.set_metadata("model", dir);
  w.write(o.out);
  std::fprintf(stderr, "wrote %s: logits [%lld, %lld]\n", o.out.c_str(),
               static_cast<long long>(spliced.positions),
               static_cast<long long>(m.cfg.text.vocab_size));
  return kExitOk;
}

}  // namespace

void add_logits_command(CLI::App& app, RunFn& run) {
  auto o = std::make_shared<LogitsOptions>();
  CLI::App* cmd = app.add_subcommand("logits",
                                     "Dump the logits of every position of a token-id prompt to a "
                                     "safetensors file (parity checks)");
  cmd->add_option("-m,--model", o->model, "Model directory (default: the bundled tiny model)");
  cmd->add_option("--ids", o->ids_file, "File of whitespace-separated token ids ('-' = stdin)")
      ->required();
  cmd->add_option("--image", o->images,
                  "Image for the next image token id in --ids (repeatable, in order); its rows "
                  "replace the token");
  cmd->add_option("-o,--out", o->out,
                  "Output .safetensors; holds one F32 tensor 'logits' [n_tokens, vocab_size]")
      ->required();
  cmd->add_option(
         "--device", o->device,
         "Where the text model runs: cpu, cuda or cuda:N (needs a build with the CUDA backend)")
      ->capture_default_str();
  add_precision_flag(*cmd, o->precision);
  add_resize_compat_flag(*cmd, o->resize_compat);
  cmd->add_option("--tp", o->tp,
                  "Tensor-parallel ranks for the text model: CPU threads with --device cpu, GPUs "
                  "from --device's "
                  "index on with cuda (must split the heads, KV heads and experts)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--chunk", o->chunk, "Prefill in chunks of this many tokens (0 = all at once)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->callback([o, &run] { run = [o] { return run_logits(*o); }; });
}

}  // namespace mvl::cli
