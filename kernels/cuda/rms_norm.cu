// RMSNorm kernels. bf16 activations (rms_norm, residual_rms_norm, gated_rms_norm): one row
// per 256-thread block (or 128 threads for the vectorised form, which keeps the row in
// registers as 16-byte chunks), f32 statistics, PyTorch's bf16 roundings. f32 activations
// (rms_norm_f32): one block per row, f32 statistics, optional bf16 rounding of each step.
// CPU twin: kernels/cpu/rms_norm.cpp; tests: tests/gpu/elementwise_test.cpp (bf16) and the
// ops parity tests (f32).
#include "kernels/cuda/rms_norm.h"

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/launch.cuh"

namespace mvl::cuda {

using namespace dev;
using namespace host;

namespace {

// mode 0: plain; 1: residual (s = bf16(bf16(alpha r) + x)); 2: gated (σ(g) ⊙ norm).
__global__ void rms_norm_kernel(const bf16* __restrict__ x, const bf16* __restrict__ r,
                                const bf16* __restrict__ g, const bf16* __restrict__ w, bf16* y,
                                int D, float eps, float alpha, int mode) {
  __shared__ float scratch[32];
  const int64_t row = blockIdx.x;
  const bf16* xr = x + row * D;
  const bf16* rr = r ? r + row * D : nullptr;
  float ss = 0.f;
  for (int i = threadIdx.x; i < D; i += blockDim.x) {
    float v = to_f(xr[i]);
    if (mode == 1) v = round_bf(round_bf(alpha * to_f(rr[i])) + v);
    ss += v * v;
  }
  const float inv = rsqrtf(block_sum(ss, scratch) / D + eps);
  for (int i = threadIdx.x; i < D; i += blockDim.x) {
    float v = to_f(xr[i]);
    if (mode == 1) v = round_bf(round_bf(alpha * to_f(rr[i])) + v);
    float o = to_f(w[i]) * round_bf(v * inv);
    if (mode == 2) o = round_bf(o) * round_bf(1.f / (1.f + __expf(-to_f(g[row * D + i]))));
    y[row * D + i] = to_bf(o);
  }
}

__global__ void rms_norm_vec_kernel(const bf16* __restrict__ x, const bf16* __restrict__ r,
                                    const bf16* __restrict__ g, const bf16* __restrict__ w, bf16* y,
                                    int D, float eps, float alpha, int mode) {
  __shared__ float scratch[32];
  const int64_t row = blockIdx.x;
  const int nc = D / 8;
  float v[kVecChunks][8];
  float ss = 0.f;
#pragma unroll
  for (int i = 0; i < kVecChunks; ++i) {
    const int c = threadIdx.x + i * blockDim.x;
    if (c < nc) {
      unpack8(reinterpret_cast<const int4*>(x + row * D)[c], v[i]);
      if (mode == 1) {
        float rr[8];
        unpack8(reinterpret_cast<const int4*>(r + row * D)[c], rr);
#pragma unroll
        for (int e = 0; e < 8; ++e) v[i][e] = round_bf(round_bf(alpha * rr[e]) + v[i][e]);
      }
#pragma unroll
      for (int e = 0; e < 8; ++e) ss += v[i][e] * v[i][e];
    }
  }
  const float inv = rsqrtf(block_sum(ss, scratch) / D + eps);
#pragma unroll
  for (int i = 0; i < kVecChunks; ++i) {
    const int c = threadIdx.x + i * blockDim.x;
    if (c < nc) {
      float ww[8], o[8];
      unpack8(reinterpret_cast<const int4*>(w)[c], ww);
      if (mode == 2) unpack8(reinterpret_cast<const int4*>(g + row * D)[c], o);
#pragma unroll
      for (int e = 0; e < 8; ++e) {
        float t = ww[e] * round_bf(v[i][e] * inv);
        if (mode == 2) t = round_bf(t) * round_bf(1.f / (1.f + __expf(-o[e])));
        o[e] = t;
      }
      reinterpret_cast<int4*>(y + row * D)[c] = pack8(o);
    }
  }
}

__global__ void rms_norm_f32_kernel(const float* x, const void* w, bool wbf, float* y, int64_t d,
                                    float eps, bool rb) {
  __shared__ float red[32];
  const float* xr = x + blockIdx.x * d;
  float* yr = y + blockIdx.x * d;
  float ss = 0.0f;
  for (int64_t j = threadIdx.x; j < d; j += blockDim.x) ss += xr[j] * xr[j];
  ss = block_sum_seq(ss, red);
  const float inv = 1.0f / sqrtf(ss / static_cast<float>(d) + eps);
  for (int64_t j = threadIdx.x; j < d; j += blockDim.x) {
    float v = xr[j] * inv;
    if (rb) v = round_bf(v);
    v *= ldw(w, wbf, j);
    yr[j] = rb ? round_bf(v) : v;
  }
}

void launch_rms(const Context& ctx, const bf16* x, const bf16* r, const bf16* g, const bf16* w,
                bf16* y, int64_t n, int D, float eps, float alpha, int mode) {
  const bool vec = D % 8 == 0 && D <= kVecChunks * 8 * kRowThreads && aligned16(x) &&
                   aligned16(r) && aligned16(g) && aligned16(w) && aligned16(y);
  if (vec)
    rms_norm_vec_kernel<<<n, D <= kVecChunks * 8 * 128 ? 128 : kRowThreads, 0, ctx.stream()>>>(
        x, r, g, w, y, D, eps, alpha, mode);
  else
    rms_norm_kernel<<<n, kRowThreads, 0, ctx.stream()>>>(x, r, g, w, y, D, eps, alpha, mode);
}

}  // namespace

void rms_norm(const Context& ctx, const Tensor& x, const Tensor& w, float eps, const Tensor& y) {
  check_rows(x, y, "rms_norm");
  const int D = static_cast<int>(x.dim(-1));
  MVL_CHECK(w.numel() == D && w.dtype() == DType::bf16, shape_mismatch, "cuda::rms_norm: weight {}",
            w.str());
  const int64_t n = x.numel() / D;
  if (n == 0) return;
  launch_rms(ctx, cb(x), nullptr, nullptr, cb(w), mb(y), n, D, eps, 1.f, 0);
  MVL_CUDA_CHECK_LAUNCH();
}

void residual_rms_norm(const Context& ctx, const Tensor& resid, float alpha, const Tensor& branch,
                       const Tensor& w, float eps, const Tensor& y) {
  check_rows(branch, y, "residual_rms_norm");
  check_rows(resid, y, "residual_rms_norm");
  const int D = static_cast<int>(y.dim(-1));
  MVL_CHECK(w.numel() == D, shape_mismatch, "cuda::residual_rms_norm: weight {}", w.str());
  const int64_t n = y.numel() / D;
  if (n == 0) return;
  launch_rms(ctx, cb(branch), cb(resid), nullptr, cb(w), mb(y), n, D, eps, alpha, 1);
  MVL_CUDA_CHECK_LAUNCH();
}

void gated_rms_norm(const Context& ctx, const Tensor& o, const Tensor& w, float eps,
                    const Tensor& gate, const Tensor& y) {
  check_rows(o, y, "gated_rms_norm");
  check_rows(gate, y, "gated_rms_norm");
  const int D = static_cast<int>(y.dim(-1));
  MVL_CHECK(w.numel() == D, shape_mismatch, "cuda::gated_rms_norm: weight {}", w.str());
  const int64_t n = y.numel() / D;
  if (n == 0) return;
  launch_rms(ctx, cb(o), nullptr, cb(gate), cb(w), mb(y), n, D, eps, 1.f, 2);
  MVL_CUDA_CHECK_LAUNCH();
}

void rms_norm_f32(const Context& ctx, const Tensor& x, const Tensor& w, float eps, bool round_bf16,
                  const Tensor& y) {
  const int64_t d = w.dim(0), rows = x.numel() / d;
  if (rows == 0) return;
  rms_norm_f32_kernel<<<static_cast<unsigned>(rows), 256, 0, ctx.stream()>>>(
      x.data<float>(), w.data(), is_bf16(w), y.data<float>(), d, eps, round_bf16);
  MVL_CUDA_CHECK(cudaGetLastError());
}

}  // namespace mvl::cuda
