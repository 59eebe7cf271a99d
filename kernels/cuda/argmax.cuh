// The one argmax of kernels/cuda: a block-wide reduction over a row, used by the greedy row
// argmax (tensor_ops.cu) and the sampler's greedy step (sampling.cu). Algorithm: each thread
// scans a strided slice keeping (value, index), then warp shuffles and one pass over the warp
// winners in shared memory (32 floats + 32 indices); the largest value wins, the lowest index
// on ties, NaN never wins (an all-NaN row gives 0). The same scan notes whether any value is
// NaN or +Inf, so decode's broken-weights check needs no second pass over the logits.
// CPU twin: cpu::argmax (kernels/cpu/sampling.cpp); tests: tests/gpu/elementwise_test.cpp,
// tests/gpu/sampling_cuda_test.cpp.
#pragma once

#include <cstdint>

#include "kernels/cuda/common.cuh"

namespace mvl::cuda::dev {

__device__ __forceinline__ float argmax_load(const float* p, int64_t i) {
  return p[i];
}
__device__ __forceinline__ float argmax_load(const bf16* p, int64_t i) {
  return to_f(p[i]);
}

// Thread 0 writes the argmax of x[0, n) to *out and, when `nonfinite` is not null, 1 or 0 to
// *nonfinite (whether any x[j] is NaN or +Inf). Call from every thread of one block
// (blockDim.x a multiple of 32, at most 1024).
template <typename T>
__device__ void block_argmax(const T* __restrict__ x, int64_t n, int32_t* out, int32_t* nonfinite) {
  __shared__ float sv[32];
  __shared__ int64_t si[32];
  float best = -INFINITY;
  int64_t bi = n;  // "none yet": larger than any index
  bool bad = false;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
    const float v = argmax_load(x, j);
    bad |= !(v < INFINITY);  // NaN or +Inf
    if (v > best || (bi == n && v == v)) {
      best = v;
      bi = j;
    }
  }
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  for (int o = 16; o > 0; o >>= 1) {
    const float ov = __shfl_xor_sync(0xffffffffu, best, o);
    const int64_t oi = __shfl_xor_sync(0xffffffffu, bi, o);
    if (ov > best || (ov == best && oi < bi)) {
      best = ov;
      bi = oi;
    }
  }
  if (lane == 0) {
    sv[warp] = best;
    si[warp] = bi;
  }
  const int any_bad = __syncthreads_or(bad);
  if (threadIdx.x == 0) {
    for (int w = 1; w < int(blockDim.x >> 5); ++w)
      if (sv[w] > best || (sv[w] == best && si[w] < bi)) {
        best = sv[w];
        bi = si[w];
      }
    out[0] = static_cast<int32_t>(bi < n ? bi : 0);
    if (nonfinite) nonfinite[0] = any_bad ? 1 : 0;
  }
}

}  // namespace mvl::cuda::dev
