// The one argmax of kernels/cuda, used by the greedy row argmax (cuda::argmax, argmax.cu) and
// the sampler's greedy step after a repetition penalty (sampling.cu). Semantics (= cpu::argmax):
// the largest value wins, the lowest index on ties, NaN never wins (an all-NaN row gives 0);
// the same pass notes whether any value is NaN or +Inf, so decode's broken-weights check needs
// no second read of the logits.
//
// Two passes, because a decode step's row is 200,064 logits (800 KB of f32): one block per row
// leaves a single SM waiting on one load per thread at a time, tens of microseconds per token.
//   pass 1  grid (chunks, rows): each 256-thread block takes a contiguous chunk of 2048 values,
//           every thread issues its 8 loads before comparing them (8 in flight), then a block
//           reduction writes one ArgmaxPartial (value, index or "none", any NaN/+Inf) per chunk;
//   pass 2  one warp per row merges that row's partials.
// CPU twin: cpu::argmax / cpu::argmax_checked (kernels/cpu/sampling.cpp); tests:
// tests/gpu/elementwise_test.cpp, tests/gpu/sampling_cuda_test.cpp.
#pragma once

#include <cstdint>

#include "kernels/core/tensor.h"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/context.h"

namespace mvl::cuda {

namespace dev {

__device__ __forceinline__ float argmax_load(const float* p, int64_t i) { return p[i]; }
__device__ __forceinline__ float argmax_load(const bf16* p, int64_t i) { return to_f(p[i]); }

// Index "none yet": loses every comparison with a real index (indices are < 2^31 - 1).
constexpr int32_t kArgmaxNone = 0x7fffffff;

// (value, index) order of the reduction: a larger value wins, the lower index on equal values.
// A "none" entry carries -inf and kArgmaxNone, so any real entry (even -inf) beats it.
__device__ __forceinline__ bool argmax_better(float v, int32_t i, float best, int32_t bi) {
  return v > best || (v == best && i < bi);
}

// Warp-wide merge; every lane ends with the warp's winner.
__device__ __forceinline__ void warp_argmax(float& best, int32_t& bi) {
  for (int o = 16; o > 0; o >>= 1) {
    const float ov = __shfl_xor_sync(0xffffffffu, best, o);
    const int32_t oi = __shfl_xor_sync(0xffffffffu, bi, o);
    if (argmax_better(ov, oi, best, bi)) {
      best = ov;
      bi = oi;
    }
  }
}

}  // namespace dev

struct ArgmaxPartial {
  float value;    // the chunk's largest non-NaN value (-inf when none)
  int32_t index;  // its lowest index, or dev::kArgmaxNone when the chunk is all NaN
  int32_t bad;    // 1 when the chunk holds a NaN or +Inf
  int32_t pad;
};

// Partials the two passes need for `rows` rows of `V` values (the caller allocates them).
int64_t argmax_partials(int64_t rows, int64_t V);

// out[r] = argmax of row r of x (f32 or bf16 [rows, V], contiguous, V < 2^31 - 1); when
// `nonfinite` is not null, nonfinite[r] = 1 if row r holds a NaN or +Inf, else 0. `partials`:
// device memory for argmax_partials(rows, V) entries, free for the two kernels' use.
void launch_argmax_rows(const Context& ctx, const void* x, DType dtype, int64_t rows, int64_t V,
                        int32_t* out, int32_t* nonfinite, ArgmaxPartial* partials);

}  // namespace mvl::cuda
