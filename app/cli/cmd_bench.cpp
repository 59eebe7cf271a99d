// `minimax-vl bench`: random-weight benchmark of MiniMax-Text-01 decoder layers on the GPU
// at the released shapes (configs/minimax-vl-01.json): prefill of --tokens tokens through
// --layers layers and a batched decode step (eager and as one CUDA graph), with per-part
// timings against the measured copy/GEMM ceilings. Needs a CUDA build; per-op numbers and
// peer comparisons: kernels/bench/ops_cuda_bench and docs/benchmarks.md.
#include <cstdio>
#include <memory>

#include "app/cli/command.h"
#ifdef MVL_HAVE_CUDA
#include "kernels/cuda/layer_stack_bench.h"
#endif

namespace mvl::cli {

void add_bench_command(CLI::App& app, RunFn& run) {
  struct Opts {
    bool random_weights = false;
    std::string config = "configs/minimax-vl-01.json";
    int layers = 8;
    int64_t tokens = 4096;
    int64_t batch = 1;
    int reps = 5;
    bool no_lm_head = false;
    int device = 0;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* sub = app.add_subcommand(
      "bench",
      "Time MiniMax-Text-01 decoder layers on the GPU with random weights (prefill and decode)");
  sub->add_flag("--random-weights", o->random_weights,
                "Use random bf16 weights at the config's shapes (required: checkpoint benchmarks "
                "are not built yet)");
  sub->add_option("--config", o->config, "Model config.json giving the shapes")
      ->check(CLI::ExistingFile)
      ->capture_default_str();
  sub->add_option("--layers", o->layers, "Number of decoder layers (the first N of attn_type_list)")
      ->check(CLI::Range(1, 80))
      ->capture_default_str();
  sub->add_option("--tokens", o->tokens, "Prefill length, also the decode context")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))
      ->capture_default_str();
  sub->add_option("--batch", o->batch, "Sequences per decode step (1-64)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  sub->add_option("--reps", o->reps, "Timed repetitions (median reported)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  sub->add_flag("--no-lm-head", o->no_lm_head,
                "Leave the final norm + LM head + argmax out of the decode step");
  sub->add_option("--device", o->device, "CUDA device index")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  sub->callback([o, &run] {
    run = [o]() -> int {
      if (!o->random_weights)
        throw_error(
            ErrorCategory::invalid_argument,
            "bench needs --random-weights (benchmarks on a real checkpoint are not supported yet)");
#ifdef MVL_HAVE_CUDA
      cuda::StackBenchOptions so;
      so.config_path = o->config;
      so.layers = o->layers;
      so.tokens = o->tokens;
      so.decode_batch = o->batch;
      so.reps = o->reps;
      so.lm_head = !o->no_lm_head;
      so.device = o->device;
      const auto rep = cuda::run_stack_bench(so);
      std::printf("GPU: %s   measured copy %.2f TB/s, bf16 GEMM %.0f TFLOP/s\n", rep.gpu.c_str(),
                  rep.copy_tbs, rep.gemm_tflops);
      std::printf("%-62s %12s %12s %8s\n", "what", "median ms", "floor ms", "x floor");
      for (const auto& r : rep.rows)
        std::printf("%-62s %12.3f %12.3f %8.2f  %s\n", r.name.c_str(), r.ms, r.floor_ms,
                    r.ms / r.floor_ms, r.note.c_str());
      return kExitOk;
#else
      throw_error(ErrorCategory::unsupported,
                  "this minimax-vl was built without the CUDA backend; rebuild with -DMVL_CUDA=ON "
                  "on a machine with "
                  "nvcc to run bench");
#endif
    };
  });
}

}  // namespace mvl::cli
