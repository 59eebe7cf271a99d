// `minimax-vl quantize -m SRC -o DST --quant FORMAT`: writes a quantized copy of a checkpoint
// (issue 17; docs/quantization.md): the same shards with the text weights the rule picks as
// codes + `_scale` (+ `_zero`) tensors (llm/weights/quant_checkpoint.h), config.json with a
// `quantization_config`, and every other file of SRC copied. Loading DST reads the codes as
// stored, giving the same logits as `--quant FORMAT` at load on SRC, bit for bit.
#include <cstdio>
#include <filesystem>

#include "app/cli/command.h"
#include "app/cli/flags.h"
#include "app/engine/inspect/memory_plan.h"
#include "app/engine/loading/quantize.h"

namespace mvl::cli {

namespace fs = std::filesystem;

namespace {

struct QuantizeOptions {
  std::string model, out, quant;
};

int run_quantize(const QuantizeOptions& o) {
  const auto scheme = llm::quant_scheme_from_name(o.quant);  // checked by the flag
  if (!scheme || *scheme == llm::QuantScheme::none)
    throw PhaseError(kExitUsage, Error(ErrorCategory::invalid_argument,
                                       "--quant: pick a format to quantize to (" +
                                           llm::quant_scheme_choices() + ", not bf16)"));
  std::error_code ec;
  input_phase([&] {
    MVL_CHECK(!fs::exists(o.out, ec) || fs::is_empty(o.out, ec), invalid_argument,
              "output directory '{}' is not empty; pick a new one", o.out);
    MVL_CHECK(!fs::exists(o.out, ec) || !fs::equivalent(o.out, o.model, ec), invalid_argument,
              "output directory '{}' is the source", o.out);
  });
  const engine::QuantizeResult r = load_phase([&] {
    return engine::quantize_model_dir(
        o.model, o.out, *scheme, [](const engine::QuantizeProgress& p) {
          std::fprintf(stderr, "[%zu/%zu] %s (%s read, %s written so far)\n", p.file, p.files,
                       p.name.c_str(), engine::format_bytes(p.bytes_in).c_str(),
                       engine::format_bytes(p.bytes_out).c_str());
        });
  });
  std::printf("wrote %s: %s weights, %zu file%s, %s (from %s)\n", o.out.c_str(),
              llm::quant_scheme_name(*scheme), r.files.size(), r.files.size() == 1 ? "" : "s",
              engine::format_bytes(r.written_bytes).c_str(),
              engine::format_bytes(r.source_bytes).c_str());
  return kExitOk;
}

}  // namespace

void add_quantize_command(CLI::App& app, RunFn& run) {
  auto o = std::make_shared<QuantizeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "quantize",
      "Write a quantized copy of a checkpoint (same shards; scales beside each weight; the format\n"
      "in config.json). Loading it reads the codes as stored: the same logits as --quant at load.\n"
      "Example: minimax-vl quantize -m /models/MiniMax-VL-01 -o /models/MiniMax-VL-01-int8 "
      "--quant int8");
  add_model_flag(*cmd, o->model, "Source checkpoint directory (bf16 or f32 weights)")->required();
  cmd->add_option("-o,--out", o->out, "Output directory (new or empty)")
      ->required()
      ->type_name("DIR");
  cmd->add_option("--quant", o->quant,
                  "int8 = every linear but embed_tokens, lm_head and the routers (the official "
                  "recipe); int8-experts, fp8-experts, int4-experts = the experts only")
      ->required()
      ->type_name("FORMAT")
      ->check(CLI::IsMember({"int8", "int8-experts", "fp8-experts", "int4-experts"}));
  cmd->callback([o, &run] { run = [o] { return run_quantize(*o); }; });
}

}  // namespace mvl::cli
