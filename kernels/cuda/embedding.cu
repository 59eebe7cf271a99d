// Embedding gather kernels: one block per id; bf16 rows copied as 16-byte chunks
// (embedding), or f32|bf16 rows widened to f32 (embedding_f32). Out-of-range ids read row 0
// (callers validate ids on the host before upload). CPU twin: kernels/cpu/embedding.cpp;
// tests: tests/gpu/elementwise_test.cpp, ops parity tests.
#include "kernels/cuda/embedding.h"

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/launch.cuh"

namespace mvl::cuda {

using namespace dev;
using namespace host;

namespace {

__global__ void embedding_kernel(const bf16* __restrict__ table, const int32_t* __restrict__ ids,
                                 bf16* out, int64_t V, int D) {
  const int64_t r = blockIdx.x;
  int64_t id = ids[r];
  if (id < 0 || id >= V) id = 0;
  const int4* src = reinterpret_cast<const int4*>(table + id * D);
  int4* dst = reinterpret_cast<int4*>(out + r * D);
  for (int i = threadIdx.x; i < D / 8; i += blockDim.x) dst[i] = src[i];
}

__global__ void embedding_f32_kernel(const void* table, bool tbf, const int32_t* ids, float* out,
                                     int64_t h, int64_t vocab) {
  int64_t id = ids[blockIdx.x];
  if (id < 0 || id >= vocab) id = 0;  // validated on the host where ids come from the host
  for (int64_t j = threadIdx.x; j < h; j += blockDim.x)
    out[blockIdx.x * h + j] = ldw(table, tbf, id * h + j);
}

}  // namespace

void embedding(const Context& ctx, const Tensor& table, const Tensor& ids, const Tensor& out) {
  MVL_CHECK(table.dtype() == DType::bf16 && table.ndim() == 2 && table.dim(1) % 8 == 0, unsupported,
            "cuda::embedding: table must be bf16 [V, D] with D % 8 == 0, got {}", table.str());
  MVL_CHECK(ids.dtype() == DType::i32 && out.numel() == ids.numel() * table.dim(1), shape_mismatch,
            "cuda::embedding: ids {} out {}", ids.str(), out.str());
  if (ids.numel() == 0) return;
  embedding_kernel<<<ids.numel(), 128, 0, ctx.stream()>>>(
      cb(table), static_cast<const int32_t*>(ids.data()), mb(out), table.dim(0),
      static_cast<int>(table.dim(1)));
  MVL_CUDA_CHECK_LAUNCH();
}

void embedding_f32(const Context& ctx, const Tensor& table, const Tensor& ids, const Tensor& out) {
  const int64_t n = ids.numel();
  if (n == 0) return;
  embedding_f32_kernel<<<static_cast<unsigned>(n), 128, 0, ctx.stream()>>>(
      table.data(), is_bf16(table), ids.data<int32_t>(), out.data<float>(), table.dim(1),
      table.dim(0));
  MVL_CUDA_CHECK(cudaGetLastError());
}

}  // namespace mvl::cuda
