// Activation kernels. bf16 (activation_inplace, swiglu): grid-stride loops over 16-byte
// chunks of 8 values (activation_inplace: two chunks in flight per thread) with a scalar tail,
// f32 maths, PyTorch's bf16 roundings (SwiGLU rounds silu to bf16 before the product). f32 (activation_f32): one thread per element.
// CPU twin: kernels/ops/activation.cpp's CPU loops; tests: tests/gpu/elementwise_test.cpp.
#include "kernels/cuda/activation.h"

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/launch.cuh"

namespace mvl::cuda {

using namespace dev;
using namespace host;

namespace {

__device__ __forceinline__ float act(float v, int kind) {
  switch (kind) {
    case 0:
      return v / (1.f + __expf(-v));  // silu
    case 1:
      return 0.5f * v * (1.f + erff(v * 0.70710678118654752f));  // gelu (erf)
    case 2:  // quick_gelu (the ViT's fc1): rcp-based division, ~2 f32 ulps, then one bf16 rounding
      return __fdividef(v, 1.f + __expf(-1.702f * v));
    default:
      return 1.f / (1.f + __expf(-v));  // sigmoid
  }
}

__global__ void act_kernel(bf16* x, int64_t n, int kind) {
  // 8 elements (16 bytes) per chunk, two chunks (one grid stride apart) loaded before either
  // is computed so each thread keeps two loads in flight; the scalar tail covers n % 8.
  const int64_t n8 = n / 8, stride = int64_t(gridDim.x) * blockDim.x;
  int4* x4 = reinterpret_cast<int4*>(x);
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n8; i += 2 * stride) {
    const bool two = i + stride < n8;
    const int4 a = x4[i], b = two ? x4[i + stride] : a;
    float f[8], g[8];
    unpack8(a, f);
    unpack8(b, g);
#pragma unroll
    for (int e = 0; e < 8; ++e) {
      f[e] = act(f[e], kind);
      g[e] = act(g[e], kind);
    }
    x4[i] = pack8(f);
    if (two) x4[i + stride] = pack8(g);
  }
  for (int64_t i = n8 * 8 + blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    x[i] = to_bf(act(to_f(x[i]), kind));
}

__global__ void swiglu_kernel(const bf16* __restrict__ gu, bf16* out, int64_t rows, int F) {
  // Reference: silu in bf16 (rounded), then the bf16 product. 8 columns per step when F % 8 == 0.
  if (F % 8 == 0) {
    const int F8 = F / 8;
    const int64_t n8 = rows * F8;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n8;
         i += int64_t(gridDim.x) * blockDim.x) {
      const int64_t r = i / F8, c = i % F8;
      float g[8], u[8];
      unpack8(reinterpret_cast<const int4*>(gu + r * 2 * F)[c], g);
      unpack8(reinterpret_cast<const int4*>(gu + r * 2 * F + F)[c], u);
#pragma unroll
      for (int e = 0; e < 8; ++e) g[e] = round_bf(g[e] / (1.f + __expf(-g[e]))) * u[e];
      reinterpret_cast<int4*>(out)[i] = pack8(g);
    }
    return;
  }
  const int64_t n = rows * F;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = i / F, c = i % F;
    const float g = to_f(gu[r * 2 * F + c]), u = to_f(gu[r * 2 * F + F + c]);
    out[i] = to_bf(round_bf(g / (1.f + __expf(-g))) * u);
  }
}

// kind: 0 silu, 1 sigmoid, 2 gelu (erf), 3 quick_gelu
__global__ void act_f32_kernel(const float* x, float* y, int64_t n, int kind) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const float v = x[i];
  float r;
  if (kind == 0)
    r = v / (1.0f + expf(-v));
  else if (kind == 1)
    r = 1.0f / (1.0f + expf(-v));
  else if (kind == 2)
    r = v * 0.5f * (1.0f + erff(v * 0.70710678118654752f));
  else
    r = v / (1.0f + expf(-1.702f * v));
  y[i] = r;
}

}  // namespace

void activation_inplace(const Context& ctx, const Tensor& x, const std::string& name) {
  check_rows(x, x, "activation");
  int kind = -1;
  if (name == "silu")
    kind = 0;
  else if (name == "gelu")
    kind = 1;
  else if (name == "quick_gelu")
    kind = 2;
  else if (name == "sigmoid")
    kind = 3;
  MVL_CHECK(kind >= 0, unsupported,
            "cuda::activation: unknown activation '{}' (silu, gelu, quick_gelu, sigmoid)", name);
  if (x.numel() == 0) return;
  MVL_CHECK(aligned16(x.data()), unsupported, "cuda::activation: data must be 16-byte aligned ({})",
            x.str());
  act_kernel<<<grid_for((x.numel() + 15) / 16), 256, 0, ctx.stream()>>>(mb(x), x.numel(), kind);
  MVL_CUDA_CHECK_LAUNCH();
}

void swiglu(const Context& ctx, const Tensor& gu, const Tensor& out) {
  const int64_t F = out.dim(-1), rows = out.numel() / F;
  MVL_CHECK(gu.numel() == rows * 2 * F && gu.dim(-1) == 2 * F, shape_mismatch,
            "cuda::swiglu: {} -> {}", gu.str(), out.str());
  if (rows == 0) return;
  MVL_CHECK(gu.is_contiguous() && out.is_contiguous(), unsupported,
            "cuda::swiglu: contiguous tensors needed");
  swiglu_kernel<<<grid_for(F % 8 == 0 ? rows * F / 8 : rows * F), 256, 0, ctx.stream()>>>(
      cb(gu), mb(out), rows, static_cast<int>(F));
  MVL_CUDA_CHECK_LAUNCH();
}

void activation_f32(const Context& ctx, const Tensor& x, const std::string& name,
                    const Tensor& out) {
  int kind = -1;
  if (name == "silu")
    kind = 0;
  else if (name == "sigmoid")
    kind = 1;
  else if (name == "gelu")
    kind = 2;
  else if (name == "quick_gelu")
    kind = 3;
  MVL_CHECK(kind >= 0, unsupported,
            "activation '{}' is not supported (silu, sigmoid, gelu, quick_gelu)", name);
  const int64_t n = x.numel();
  if (n == 0) return;
  act_f32_kernel<<<blocks_for(n, 256), 256, 0, ctx.stream()>>>(x.data<float>(), out.data<float>(),
                                                               n, kind);
  MVL_CUDA_CHECK(cudaGetLastError());
}

}  // namespace mvl::cuda
