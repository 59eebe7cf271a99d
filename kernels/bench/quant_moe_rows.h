// Benchmark rows of the MoE block with quantized experts (issue 17) at a config's shapes: decode
// batch 1 (one CUDA graph replay) per format (bf16, int8, fp8, int4) against its own bytes
// floor (router + the two chosen experts' codes and scales over the measured copy rate), and
// prefill of T tokens per format against our bf16 path. Random weights made on the GPU; the
// quantized experts are quantized from the same bf16 weights. Part of mvl_kbench; plain C++.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/bench/layer_stack_bench.h"

namespace mvl::cuda {

struct QuantMoeBenchOptions {
  int64_t hidden = 6144, intermediate = 9216, experts = 32;  // the released MoE layer
  int64_t prefill_tokens = 4096;
  int reps = 20;
  int device = 0;
  double copy_tbs = 0;     // measured here when 0
  double gemm_tflops = 0;  // measured here when 0
};

// Rows "moe decode n=1 <fmt>" and "moe prefill T=<T> <fmt>"; notes give the ratio to bf16.
std::vector<StackBenchRow> run_quant_moe_bench(const QuantMoeBenchOptions& o);

}  // namespace mvl::cuda
