// Decoder-layer stack benchmark on CUDA with random weights (same code as `minimax-vl
// bench`, kernels/bench/layer_stack_bench.h), as a standalone executable for the GPU machine.
// usage: layers_cuda_bench [config.json] [layers] [tokens] [decode_batch]
#include <cstdio>
#include <cstdlib>

#include "kernels/bench/layer_stack_bench.h"
#include "kernels/core/error.h"

int main(int argc, char** argv) {
  mvl::cuda::StackBenchOptions opt;
  opt.config_path = argc > 1 ? argv[1] : "configs/minimax-vl-01.json";
  if (argc > 2) opt.layers = std::atoi(argv[2]);
  if (argc > 3) opt.tokens = std::atoll(argv[3]);
  if (argc > 4) opt.decode_batch = std::atoll(argv[4]);
  try {
    const auto rep = mvl::cuda::run_stack_bench(opt);
    std::printf("GPU: %s  copy %.2f TB/s  bf16 GEMM %.0f TFLOP/s\n", rep.gpu.c_str(), rep.copy_tbs,
                rep.gemm_tflops);
    for (const auto& r : rep.rows)
      std::printf("%-62s %10.3f ms  floor %8.3f ms  x%.2f  %s\n", r.name.c_str(), r.ms, r.floor_ms,
                  r.ms / r.floor_ms, r.note.c_str());
  } catch (const mvl::Error& e) {
    std::fprintf(stderr, "layers_cuda_bench: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
