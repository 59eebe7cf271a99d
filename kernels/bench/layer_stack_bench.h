// Random-weight benchmark of a stack of MiniMax-Text-01 decoder layers on CUDA, shaped by
// a config.json (text_config): prefill of T tokens and a batched decode step (also as one
// CUDA graph), with per-part timings. Shared by `minimax-vl bench` (app/cli/cmd_bench.cpp)
// and kernels/bench/layers_cuda_bench.cpp; lives in mvl_kbench (kernels/bench), not in the
// kernels library. Plain C++ header.
#pragma once

#include <string>
#include <vector>

namespace mvl::cuda {

struct StackBenchOptions {
  std::string config_path;   // a MiniMax-VL-01 / Text-01 config.json (text_config or flat)
  int layers = 8;            // the first N layers of attn_type_list (8 = 7 lightning + 1 softmax)
  int64_t tokens = 4096;     // prefill length; also the decode context
  int64_t decode_batch = 1;  // sequences per decode step (<= 64)
  int reps = 5;
  bool lm_head = true;  // include final norm + LM head + argmax in the decode step
  int device = 0;
};

struct StackBenchRow {
  std::string name;
  double ms = 0;        // median
  double floor_ms = 0;  // max(bytes / measured copy rate, FLOPs / measured GEMM rate)
  std::string note;
};

struct StackBenchReport {
  std::string gpu;
  double copy_tbs = 0, gemm_tflops = 0;
  std::vector<StackBenchRow> rows;
};

// Throws Error{invalid_argument|bad_format|out_of_memory|device} with what-to-do messages.
StackBenchReport run_stack_bench(const StackBenchOptions& opt);

}  // namespace mvl::cuda
