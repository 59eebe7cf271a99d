// Host-side launch helpers shared by the kernels/cuda family files: grid sizes, bf16 pointer
// casts and the argument checks of the row-wise bf16 kernels and the f32 generic kernels.
// Header-only; include only from .cu files (namespace mvl::cuda::host).
#pragma once

#include <cstdint>

#include "kernels/core/error.h"
#include "kernels/core/tensor.h"
#include "kernels/cuda/common.cuh"

namespace mvl::cuda::host {

constexpr int kRowThreads = 256;  // row-wise bf16 kernels: one row per 256-thread block
// Vectorised row kernels (D % 8 == 0, D <= 8 * kVecChunks * blockDim): each thread keeps its
// (up to kVecChunks) 16-byte chunks of the row in registers, so the row is read once.
constexpr int kVecChunks = 4;

// Blocks of 256 threads for a grid-stride loop over n elements (capped; the kernels loop).
inline int grid_for(int64_t n) {
  const int64_t b = (n + 255) / 256;
  return static_cast<int>(b < 65535 * 8 ? (b < 1 ? 1 : b) : 65535 * 8);
}
// One thread per element: ceil(n / threads) blocks.
inline int blocks_for(int64_t n, int threads) {
  return static_cast<int>((n + threads - 1) / threads);
}
inline bool is_bf16(const Tensor& w) {
  return w.dtype() == DType::bf16;
}
inline bool aligned16(const void* p) {
  return p == nullptr || reinterpret_cast<uintptr_t>(p) % 16 == 0;
}
inline const dev::bf16* cb(const Tensor& t) {
  return static_cast<const dev::bf16*>(t.data());
}
inline dev::bf16* mb(const Tensor& t) {
  return static_cast<dev::bf16*>(t.data());
}

// x, y: contiguous bf16 device tensors of one shape (the row-wise bf16 kernels' contract).
inline void check_rows(const Tensor& x, const Tensor& y, const char* what) {
  MVL_CHECK(x.dtype() == DType::bf16 && y.dtype() == DType::bf16, unsupported,
            "cuda::{}: bf16 only ({} -> {})", what, x.str(), y.str());
  MVL_CHECK(x.is_contiguous() && y.is_contiguous() && x.shape() == y.shape(), shape_mismatch,
            "cuda::{}: contiguous, same shapes needed ({} -> {})", what, x.str(), y.str());
  MVL_CHECK(x.device().is_cuda() && y.device().is_cuda(), invalid_argument,
            "cuda::{}: device tensors needed", what);
}
inline void check_f32(const Tensor& t, const char* what) {
  MVL_CHECK(t.dtype() == DType::f32 && t.is_contiguous(), unsupported,
            "{}: expected contiguous f32, got {}", what, t.str());
}

// The vision kernels' checks: a contiguous f32|bf16 [d] parameter, a contiguous f32 (or
// f32|bf16) activation, all on the device.
inline void check_param(const Tensor& p, int64_t d, const char* what) {
  MVL_CHECK(p.ndim() == 1 && p.dim(0) == d && p.is_contiguous() &&
                (p.dtype() == DType::f32 || p.dtype() == DType::bf16) && p.device().is_cuda(),
            unsupported, "{}: expected a contiguous f32|bf16 [{}] device tensor, got {}", what, d,
            p.str());
}
inline void check_act(const Tensor& t, const char* what) {
  MVL_CHECK(t.dtype() == DType::f32 && t.is_contiguous() && t.device().is_cuda(), unsupported,
            "{}: expected a contiguous f32 device tensor, got {}", what, t.str());
}
inline void check_float_dev(const Tensor& t, const char* what) {
  MVL_CHECK((t.dtype() == DType::f32 || t.dtype() == DType::bf16) && t.is_contiguous() &&
                t.device().is_cuda(),
            unsupported, "{}: expected a contiguous f32|bf16 device tensor, got {}", what, t.str());
}

// Token and head strides (elements) of q, k, v [n, H, d] views for the f32 generic kernels.
struct QkvStrides {
  int64_t q0, q1, k0, k1, v0, v1;
};

}  // namespace mvl::cuda::host
