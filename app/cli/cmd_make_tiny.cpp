// `minimax-vl make-tiny`: writes a tiny random MiniMax-VL-01 checkpoint (released tensor
// names by default) for tests and demos; assets/models/tiny-random is its output at seed 0.
#include "app/cli/command.h"
#include "app/cli/flags.h"
#include "app/engine/loading/install_paths.h"
#include "app/engine/inspect/tiny_model.h"

namespace mvl::cli {

namespace {
std::string default_tokenizer() { return engine::shipped_path("tokenizer/minimax_like.json"); }
}  // namespace

void add_make_tiny_command(CLI::App& app, RunFn& run) {
  struct Opts {
    std::string out;
    uint64_t seed = 0;
    std::string tokenizer = default_tokenizer();
    std::string layout = "released";
    bool single_file = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand(
      "make-tiny",
      "Write a tiny random MiniMax-VL-01 checkpoint (same tensor names and config schema as the release,\n"
      "~1 MB of bf16 weights) for tests and demos. The same seed and tokenizer give identical bytes.\n"
      "Example: minimax-vl make-tiny --out /tmp/tiny && minimax-vl info -m /tmp/tiny");
  cmd->add_option("--out,-o", o->out, "Output directory (created if needed)")->required();
  add_seed_flag(*cmd, o->seed, "Seed of the weight generator");
  cmd->add_option("--tokenizer", o->tokenizer, "tokenizer.json to bundle (must contain <image> and <end_of_sentence>)")
      ->capture_default_str();
  cmd->add_option("--layout", o->layout, "Tensor names and config schema: released (remote code) or native (transformers)")
      ->check(CLI::IsMember({"released", "native"}))
      ->capture_default_str();
  cmd->add_flag("--single-file", o->single_file, "Write one model.safetensors instead of 2 shards + index");
  cmd->callback([o, &run] {
    run = [o] {
      engine::TinyModelOptions opt;
      opt.out_dir = o->out;
      opt.seed = o->seed;
      opt.tokenizer_path = o->tokenizer;
      opt.layout = o->layout == "native" ? engine::CheckpointLayout::native : engine::CheckpointLayout::released;
      opt.sharded = !o->single_file;
      const auto files = input_phase([&] { return engine::write_tiny_model(opt); });
      std::printf("wrote a tiny random MiniMax-VL-01 (%s layout, seed %llu) to %s:\n", o->layout.c_str(),
                  static_cast<unsigned long long>(o->seed), o->out.c_str());
      for (const auto& f : files) std::printf("  %s\n", f.c_str());
      return kExitOk;
    };
  });
}

}  // namespace mvl::cli
