// LayerNorm kernels (the ViT's). bf16 activations (layer_norm): one row per block, f32
// statistics, the vectorised form keeps the row in registers as 16-byte chunks; or one row per
// warp (LayerNormRows::warp: D = 256 k, each lane k 16-byte chunks, shuffle reductions and no
// __syncthreads, 64 rows in flight per SM where the block form has 16). f32
// activations (layer_norm_f32): one block per row, mean and biased variance in f64 like the
// CPU reference. CPU twin: kernels/cpu/layer_norm.cpp; tests: tests/gpu/elementwise_test.cpp
// (bf16) and tests/gpu/vit_ops_test.cpp (f32).
#include "kernels/cuda/layer_norm.h"

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/launch.cuh"

namespace mvl::cuda {

using namespace dev;
using namespace host;

namespace {

constexpr int kThreads = 256;  // the f32 kernel's block (its f64 reduction assumes it)

__global__ void layer_norm_vec_kernel(const bf16* __restrict__ x, const bf16* __restrict__ w,
                                      const bf16* __restrict__ b, bf16* y, int D, float eps) {
  __shared__ float scratch[32];
  const int64_t row = blockIdx.x;
  const int nc = D / 8;
  float v[kVecChunks][8];
  float s = 0.f;
#pragma unroll
  for (int i = 0; i < kVecChunks; ++i) {
    const int c = threadIdx.x + i * blockDim.x;
    if (c < nc) {
      unpack8(reinterpret_cast<const int4*>(x + row * D)[c], v[i]);
#pragma unroll
      for (int e = 0; e < 8; ++e) s += v[i][e];
    }
  }
  const float mean = block_sum(s, scratch) / D;
  float v2 = 0.f;
#pragma unroll
  for (int i = 0; i < kVecChunks; ++i) {
    const int c = threadIdx.x + i * blockDim.x;
    if (c < nc) {
#pragma unroll
      for (int e = 0; e < 8; ++e) v2 += (v[i][e] - mean) * (v[i][e] - mean);
    }
  }
  const float inv = rsqrtf(block_sum(v2, scratch) / D + eps);
#pragma unroll
  for (int i = 0; i < kVecChunks; ++i) {
    const int c = threadIdx.x + i * blockDim.x;
    if (c < nc) {
      float ww[8], bb[8], o[8];
      unpack8(reinterpret_cast<const int4*>(w)[c], ww);
      unpack8(reinterpret_cast<const int4*>(b)[c], bb);
#pragma unroll
      for (int e = 0; e < 8; ++e) o[e] = (v[i][e] - mean) * inv * ww[e] + bb[e];
      reinterpret_cast<int4*>(y + row * D)[c] = pack8(o);
    }
  }
}

// One row per warp: lane l holds chunks l, l + 32, ... (kChunks of 8 values) in registers.
template <int kChunks>
__global__ void layer_norm_warp_kernel(const bf16* __restrict__ x, const bf16* __restrict__ w,
                                       const bf16* __restrict__ b, bf16* y, int64_t n, float eps) {
  constexpr int D = kChunks * 256;
  const int64_t row = blockIdx.x * int64_t(blockDim.x / 32) + threadIdx.x / 32;
  if (row >= n) return;
  const int lane = threadIdx.x & 31;
  const int4* xr = reinterpret_cast<const int4*>(x + row * D);
  float v[kChunks][8];
  float s = 0.f;
#pragma unroll
  for (int i = 0; i < kChunks; ++i) {
    unpack8(xr[lane + 32 * i], v[i]);
#pragma unroll
    for (int e = 0; e < 8; ++e) s += v[i][e];
  }
  const float mean = warp_sum(s) / D;
  float v2 = 0.f;
#pragma unroll
  for (int i = 0; i < kChunks; ++i)
#pragma unroll
    for (int e = 0; e < 8; ++e) v2 += (v[i][e] - mean) * (v[i][e] - mean);
  const float inv = rsqrtf(warp_sum(v2) / D + eps);
#pragma unroll
  for (int i = 0; i < kChunks; ++i) {
    float ww[8], bb[8], o[8];
    unpack8(reinterpret_cast<const int4*>(w)[lane + 32 * i], ww);
    unpack8(reinterpret_cast<const int4*>(b)[lane + 32 * i], bb);
#pragma unroll
    for (int e = 0; e < 8; ++e) o[e] = (v[i][e] - mean) * inv * ww[e] + bb[e];
    reinterpret_cast<int4*>(y + row * D)[lane + 32 * i] = pack8(o);
  }
}

template <int kChunks>
void launch_warp_rows(const Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b,
                      float eps, const Tensor& y, int64_t n) {
  constexpr int kRowsPerBlock = 8;
  layer_norm_warp_kernel<kChunks>
      <<<static_cast<unsigned>((n + kRowsPerBlock - 1) / kRowsPerBlock), 32 * kRowsPerBlock, 0,
         ctx.stream()>>>(cb(x), cb(w), cb(b), mb(y), n, eps);
}

__global__ void layer_norm_kernel(const bf16* __restrict__ x, const bf16* __restrict__ w,
                                  const bf16* __restrict__ b, bf16* y, int D, float eps) {
  __shared__ float scratch[32];
  const int64_t row = blockIdx.x;
  const bf16* xr = x + row * D;
  float s = 0.f;
  for (int i = threadIdx.x; i < D; i += blockDim.x) s += to_f(xr[i]);
  const float mean = block_sum(s, scratch) / D;
  float v2 = 0.f;
  for (int i = threadIdx.x; i < D; i += blockDim.x) {
    const float d = to_f(xr[i]) - mean;
    v2 += d * d;
  }
  const float inv = rsqrtf(block_sum(v2, scratch) / D + eps);
  for (int i = threadIdx.x; i < D; i += blockDim.x)
    y[row * D + i] = to_bf((to_f(xr[i]) - mean) * inv * to_f(w[i]) + to_f(b[i]));
}

// Block-wide f64 sum (blockDim.x == kThreads); every thread gets the total.
__device__ double block_sum_f64(double v, double* red) {
  red[threadIdx.x] = v;
  __syncthreads();
  for (int s = kThreads / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) red[threadIdx.x] += red[threadIdx.x + s];
    __syncthreads();
  }
  const double t = red[0];
  __syncthreads();
  return t;
}

__global__ void layer_norm_f32_kernel(const float* x, const void* w, bool wbf, const void* b,
                                      bool bbf, float* y, int64_t d, float eps) {
  __shared__ double red[kThreads];
  const float* xr = x + blockIdx.x * d;
  float* yr = y + blockIdx.x * d;
  double s = 0.0;
  for (int64_t i = threadIdx.x; i < d; i += kThreads) s += xr[i];
  const double mean = block_sum_f64(s, red) / static_cast<double>(d);
  double sq = 0.0;
  for (int64_t i = threadIdx.x; i < d; i += kThreads) {
    const double c = xr[i] - mean;
    sq += c * c;
  }
  const double var = block_sum_f64(sq, red) / static_cast<double>(d);
  const float rstd = static_cast<float>(1.0 / sqrt(var + static_cast<double>(eps)));
  const float m = static_cast<float>(mean);
  for (int64_t i = threadIdx.x; i < d; i += kThreads)
    yr[i] = (xr[i] - m) * rstd * ldw(w, wbf, i) + ldw(b, bbf, i);
}

bool vec_ok(int D, const Tensor& a, const Tensor& b) {
  return D % 8 == 0 && D <= kVecChunks * 8 * kRowThreads && aligned16(a.data()) &&
         aligned16(b.data());
}

}  // namespace

void layer_norm(const Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b, float eps,
                const Tensor& y, LayerNormRows rows) {
  check_rows(x, y, "layer_norm");
  const int D = static_cast<int>(x.dim(-1));
  MVL_CHECK(w.numel() == D && b.numel() == D, shape_mismatch, "cuda::layer_norm: weight {} bias {}",
            w.str(), b.str());
  const int64_t n = x.numel() / D;
  if (n == 0) return;
  const int chunks = D / 256;
  if (rows == LayerNormRows::warp && D % 256 == 0 &&
      (chunks == 1 || chunks == 2 || chunks == 4 || chunks == 8) && vec_ok(D, x, y) &&
      vec_ok(D, w, b)) {
    if (chunks == 1)
      launch_warp_rows<1>(ctx, x, w, b, eps, y, n);
    else if (chunks == 2)
      launch_warp_rows<2>(ctx, x, w, b, eps, y, n);
    else if (chunks == 4)
      launch_warp_rows<4>(ctx, x, w, b, eps, y, n);
    else
      launch_warp_rows<8>(ctx, x, w, b, eps, y, n);
  } else if (vec_ok(D, x, y) && vec_ok(D, w, b))
    layer_norm_vec_kernel<<<n, D <= 4 * 8 * 128 ? 128 : kRowThreads, 0, ctx.stream()>>>(
        cb(x), cb(w), cb(b), mb(y), D, eps);
  else
    layer_norm_kernel<<<n, kRowThreads, 0, ctx.stream()>>>(cb(x), cb(w), cb(b), mb(y), D, eps);
  MVL_CUDA_CHECK_LAUNCH();
}

void layer_norm_f32(const Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b,
                    float eps, const Tensor& y) {
  check_act(x, "layer_norm x");
  check_act(y, "layer_norm y");
  const int64_t d = x.dim(-1);
  check_param(w, d, "layer_norm weight");
  check_param(b, d, "layer_norm bias");
  MVL_CHECK(y.shape() == x.shape(), shape_mismatch, "layer_norm: output {} vs input {}", y.str(),
            x.str());
  const int64_t rows = d ? x.numel() / d : 0;
  if (rows == 0) return;
  layer_norm_f32_kernel<<<static_cast<unsigned>(rows), kThreads, 0, ctx.stream()>>>(
      x.data<float>(), w.data(), w.dtype() == DType::bf16, b.data(), b.dtype() == DType::bf16,
      y.data<float>(), d, eps);
  MVL_CUDA_CHECK_LAUNCH();
}

}  // namespace mvl::cuda
