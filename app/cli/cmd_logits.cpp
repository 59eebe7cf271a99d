// `minimax-vl logits`: teacher-forced logits of every prompt position, for parity checks
// against a reference; a thin front end over the engine's raw requests (all-position
// logits, nothing sampled). Input: whitespace-separated token ids (FILE or '-' for stdin).
// Each repeatable --image replaces the next image token id by that image's features, so the
// rows cover the expanded sequence. Output: a safetensors file with one F32 tensor
// `logits` [n_positions, vocab_size]. --tp N splits the text model over N ranks (CPU threads,
// or GPUs cuda:K..K+N-1); its logits equal --tp 1's within float rounding (docs/parallel.md).
#include <cstdio>

#include "app/cli/command.h"
#include "app/cli/generation_cli.h"
#include "app/cli/token_ids.h"
#include "kernels/core/safetensors.h"

namespace mvl::cli {
namespace {

struct LogitsOptions {
  std::string model, ids_file, out;
  std::vector<std::string> images;
  int64_t chunk = 0;
  std::string device = "cpu";  // "cpu", "cuda" or "cuda:N"
  std::string precision;       // "" = the device's default
  int tp = 1;                  // tensor-parallel ranks
  int rank = -1;               // >= 0: this process is one rank of tp processes
  std::string rendezvous;      // where they meet
  std::string resize_compat = "classic";
  std::string quant;  // --quant at load ("" = as stored)
};

int run_logits(const LogitsOptions& o) {
  ModelFlags mf;
  mf.model_dir = o.model;
  mf.device = o.device;
  mf.precision = o.precision;
  mf.resize_compat = o.resize_compat;
  mf.quant = o.quant;
  mf.tp = o.tp;
  mf.rank = o.rank;
  mf.rendezvous = o.rendezvous;
  OpenStyle style;
  style.note_default = false;
  style.require_tokenizer = false;
  style.prefill_chunk = o.chunk;  // 0: the whole prompt at once
  const std::unique_ptr<engine::Engine> e = open_engine(mf, style);
  engine::Request r;
  r.kind = engine::Request::Kind::raw;
  r.raw.ids = input_phase([&] { return read_token_ids(o.ids_file); });
  r.raw.images = o.images;
  r.raw.all_logits = true;
  r.raw.prefill_only = true;
  const engine::RequestHandle h = run_streaming(*e, std::move(r), false);
  throw_if_error(h);
  const engine::DoneEvent& d = *h.done();
  if (d.reason == engine::StopReason::cancelled) return kExitInterrupted;
  SafetensorsWriter w;
  w.add("logits", d.logits);  // f32 [positions, vocab] on the host
  w.set_metadata("model", e->info().dir);
  if (o.tp > 1) w.set_metadata("tp", std::to_string(o.tp));
  w.write(o.out);
  std::fprintf(stderr, "wrote %s: logits [%lld, %lld]", o.out.c_str(), static_cast<long long>(d.logits.dim(0)),
               static_cast<long long>(d.logits.dim(1)));
  if (o.rank >= 0)
    std::fprintf(stderr, " (rank %d of %d processes)", o.rank, o.tp);
  else if (o.tp > 1)
    std::fprintf(stderr, " (text model over %d %s ranks)", o.tp, e->info().backend == "cuda" ? "GPU" : "CPU");
  std::fprintf(stderr, "\n");
  return kExitOk;
}

}  // namespace

void add_logits_command(CLI::App& app, RunFn& run) {
  auto o = std::make_shared<LogitsOptions>();
  CLI::App* cmd = app.add_subcommand("logits",
                                     "Dump the logits of every position of a token-id prompt to a "
                                     "safetensors file (parity checks)");
  add_model_flag(*cmd, o->model, "Model directory (default: the bundled tiny model)");
  cmd->add_option("--ids", o->ids_file, "File of whitespace-separated token ids ('-' = stdin)")
      ->required();
  add_images_flag(*cmd, o->images,
                  "Image for the next image token id in --ids (repeatable, in order); its rows "
                  "replace the token");
  cmd->add_option("-o,--out", o->out,
                  "Output .safetensors; holds one F32 tensor 'logits' [n_tokens, vocab_size]")
      ->required();
  add_device_flag(*cmd, o->device,
                  "Where the model (both halves) runs: cpu, cuda or cuda:N (needs a build with the "
                  "CUDA backend)");
  add_precision_flag(*cmd, o->precision);
  add_resize_compat_flag(*cmd, o->resize_compat);
  add_tp_flag(*cmd, o->tp, o->rank, o->rendezvous);
  cmd->add_option("--quant", o->quant,
                  "Quantize the text model's weights while loading (as ask's --quant)")
      ->type_name("FORMAT")
      ->check(
          CLI::IsMember({"bf16", "none", "int8", "int8-experts", "fp8-experts", "int4-experts"}));
  cmd->add_option("--chunk", o->chunk, "Prefill in chunks of this many tokens (0 = all at once)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->callback([o, &run] { run = [o] { return run_logits(*o); }; });
}

}  // namespace mvl::cli
