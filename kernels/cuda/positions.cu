// Device-side position primitives (positions.h). Algorithm: one grid-stride loop per op,
// one element per thread iteration; every thread reads the position (i32 [1]) from global
// memory itself, so nothing about it is baked into a captured graph. Tiling: 256 threads,
// at most 1024 blocks; no shared memory, a few registers. Arithmetic on i32 wraps like the
// CPU twins (kernels/cpu/positions.cpp); covered by tests/gpu/positions_test.cpp (parity)
// and tests/gpu/graph_test.cpp (replays that read an updated position).
#include "kernels/cuda/positions.h"

#include <algorithm>

#include "kernels/cuda/check.cuh"

namespace mvl::cuda {

namespace {

constexpr int kThreads = 256;

int blocks_for(int64_t n) {
  return static_cast<int>(std::min<int64_t>((n + kThreads - 1) / kThreads, 1024));
}

__device__ __forceinline__ int32_t wrap_add(int32_t a, int64_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
}

__global__ void positions_from_kernel(const int32_t* pos, int32_t* out, int64_t n) {
  const int32_t p0 = *pos;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    out[i] = wrap_add(p0, i);
}

__global__ void add_scalar_kernel(int32_t* t, int64_t m, int32_t v) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < m;
       i += int64_t(gridDim.x) * blockDim.x)
    t[i] = wrap_add(t[i], v);
}

// T: the element type, by size only (uint16_t for 2-byte dtypes, uint32_t for 4-byte ones).
template <typename T>
__global__ void write_rows_kernel(T* dst, int64_t cap, const T* src, int64_t n, int64_t row,
                                  const int32_t* pos) {
  const int64_t p = *pos;
  const int64_t total = n * row;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = p + i / row;
    if (r >= 0 && r < cap) dst[r * row + i % row] = src[i];
  }
}

void check_pos(const Tensor& pos, const char* op) {
  MVL_CHECK(pos.dtype() == DType::i32 && pos.numel() == 1 && pos.device().is_cuda(), shape_mismatch,
            "{}: pos must be a device i32 [1], got {}", op, pos.str());
}

}  // namespace

void positions_from(const Context& ctx, const Tensor& pos, const Tensor& out) {
  check_pos(pos, "positions_from");
  MVL_CHECK(out.dtype() == DType::i32 && out.ndim() == 1 && out.is_contiguous(), shape_mismatch,
            "positions_from: out must be a contiguous i32 [n], got {}", out.str());
  const int64_t n = out.numel();
  if (n == 0) return;
  positions_from_kernel<<<blocks_for(n), kThreads, 0, ctx.stream()>>>(
      static_cast<const int32_t*>(pos.data()), static_cast<int32_t*>(out.data()), n);
  MVL_CUDA_CHECK_LAUNCH();
}

void add_scalar_i32(const Context& ctx, const Tensor& t, int32_t v) {
  MVL_CHECK(t.dtype() == DType::i32 && t.is_contiguous() && t.device().is_cuda(), shape_mismatch,
            "add_scalar_: expected a contiguous device i32 tensor, got {}", t.str());
  const int64_t m = t.numel();
  if (m == 0) return;
  add_scalar_kernel<<<blocks_for(m), kThreads, 0, ctx.stream()>>>(static_cast<int32_t*>(t.data()),
                                                                  m, v);
  MVL_CUDA_CHECK_LAUNCH();
}

void write_rows_at(const Context& ctx, const Tensor& dst, const Tensor& src, const Tensor& pos) {
  check_pos(pos, "write_rows_at");
  MVL_CHECK(dst.ndim() >= 1 && dst.ndim() == src.ndim() && dst.dtype() == src.dtype() &&
                dst.is_contiguous() && src.is_contiguous(),
            shape_mismatch,
            "write_rows_at: dst {} and src {} must be contiguous, same dtype and rank", dst.str(),
            src.str());
  const size_t es = dtype_size(dst.dtype());
  MVL_CHECK(es == 2 || es == 4, unsupported,
            "write_rows_at: dtype of 2 or 4 bytes expected, got {}", dst.str());
  const int64_t cap = dst.dim(0), n = src.dim(0);
  const int64_t row = cap > 0 ? dst.numel() / cap : 0;
  MVL_CHECK(n <= cap && (n == 0 || src.numel() / n == row), shape_mismatch,
            "write_rows_at: src {} does not fit dst {}", src.str(), dst.str());
  const int64_t total = n * row;
  if (total == 0) return;
  const auto* p = static_cast<const int32_t*>(pos.data());
  if (es == 2)
    write_rows_kernel<uint16_t><<<blocks_for(total), kThreads, 0, ctx.stream()>>>(
        static_cast<uint16_t*>(dst.data()), cap, static_cast<const uint16_t*>(src.data()), n, row,
        p);
  else
    write_rows_kernel<uint32_t><<<blocks_for(total), kThreads, 0, ctx.stream()>>>(
        static_cast<uint32_t*>(dst.data()), cap, static_cast<const uint32_t*>(src.data()), n, row,
        p);
  MVL_CUDA_CHECK_LAUNCH();
}

}  // namespace mvl::cuda
