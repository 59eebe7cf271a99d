// Counter-based uniform fill (random.h). Algorithm: each element i hashes (seed, i) with
// splitmix64, keeps the top 24 bits as u in [0, 1) (exact in f32), writes fma(hi-lo, u, lo)
// (bf16: rounded to nearest even with the same bit trick as core/dtype.h). Tiling: grid-
// stride loop, one element per thread iteration, 256 threads, at most 65535 blocks; no
// shared memory (a fill is store-bound: ~the copy rate). CPU reference: kernels/cpu/random.h
// (bit-identical); test: tests/gpu/random_cuda_test.cpp.
#include "kernels/cuda/random.h"

#include <algorithm>

#include "kernels/cuda/check.cuh"

namespace mvl::cuda {

namespace {

constexpr int kThreads = 256;

__device__ __forceinline__ uint64_t mix(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

__device__ __forceinline__ float uniform_at(uint64_t seed, uint64_t i, float lo, float span) {
  const uint64_t h = mix(seed ^ mix(i));
  const float u = __uint2float_rn(static_cast<unsigned>(h >> 40)) * (1.0f / 16777216.0f);
  return __fmaf_rn(span, u, lo);
}

__device__ __forceinline__ uint16_t to_bf16(float f) {
  uint32_t u = __float_as_uint(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

__global__ void fill_f32_kernel(float* out, int64_t n, uint64_t seed, float lo, float span) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    out[i] = uniform_at(seed, static_cast<uint64_t>(i), lo, span);
}

__global__ void fill_bf16_kernel(uint16_t* out, int64_t n, uint64_t seed, float lo, float span) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    out[i] = to_bf16(uniform_at(seed, static_cast<uint64_t>(i), lo, span));
}

}  // namespace

void fill_uniform_counter(const Context& ctx, const Tensor& t, uint64_t seed, float lo, float hi) {
  MVL_CHECK((t.dtype() == DType::f32 || t.dtype() == DType::bf16) && t.is_contiguous() &&
                t.device().is_cuda(),
            shape_mismatch, "fill_uniform_: expected a contiguous device f32|bf16 tensor, got {}",
            t.str());
  const int64_t n = t.numel();
  if (n == 0) return;
  const int blocks = static_cast<int>(std::min<int64_t>((n + kThreads - 1) / kThreads, 65535));
  // hi - lo is rounded once here, like the CPU twin's (hi - lo) in f32.
  const float span = hi - lo;
  if (t.dtype() == DType::f32)
    fill_f32_kernel<<<blocks, kThreads, 0, ctx.stream()>>>(static_cast<float*>(t.data()), n, seed,
                                                           lo, span);
  else
    fill_bf16_kernel<<<blocks, kThreads, 0, ctx.stream()>>>(static_cast<uint16_t*>(t.data()), n,
                                                            seed, lo, span);
  MVL_CUDA_CHECK_LAUNCH();
}

}  // namespace mvl::cuda
