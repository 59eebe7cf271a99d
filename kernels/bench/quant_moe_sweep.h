// The configurations kernels/bench/quant_moe_sweep.cu times (one translation unit per format so
// that they compile in parallel): each entry launches one product decode kernel
// (kernels/cuda/quant_moe_decode.cuh) at one tiling. Bench-only.
#pragma once

#include <cuda_runtime.h>

#include <string>
#include <vector>

#include "kernels/cuda/quant_moe_decode.cuh"
#include "kernels/cuda/quant_moe_int4.cuh"

namespace mvl::cuda::sweep {

// QmoeTuned::kTok1MaxN (quant_moe.cu): n up to this runs the product's TOK = 1 instances.
constexpr int kProductTok1MaxN = 1;

struct Variant {
  std::string name;      // "gu w8 t1 u4 r1" / "dn w8 t1 u6"
  bool down = false;     // false: the gate/up kernel, true: the down kernel
  int tok = 1;           // tokens per pass (run at n = 1 when 1, at n > 1 otherwise)
  bool product = false;  // the configuration quant_moe.cu runs for this format and tok
  void (*launch)(const qmoe::DecodeArgs&, cudaStream_t) = nullptr;
  bool any_n = false;  // runs at every n (the int4 tensor-core kernels: 8 tokens per mma)
};

std::vector<Variant> variants_int8();
std::vector<Variant> variants_fp8();
std::vector<Variant> variants_int4();

}  // namespace mvl::cuda::sweep
