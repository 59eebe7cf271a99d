// Row-wise and elementwise kernels. Rows go one per 256-thread block (or a warp for
// argmax partials); statistics accumulate in f32. CPU twins: kernels/cpu (rms_norm,
// layer_norm, activations, rope, embedding); tests: tests/gpu/elementwise_test.cpp.
#include "kernels/cuda/elementwise.h"

#include <cmath>

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/common.cuh"

namespace mvl::cuda {

using namespace dev;

namespace {

constexpr int kRowThreads = 256;

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

// Vectorised variants for D % 8 == 0 and D <= 8 * 4 * blockDim: each thread keeps its
// (up to 4) 16-byte chunks of the row in registers, so the row is read from memory once.
constexpr int kVecChunks = 4;

__device__ __forceinline__ void unpack8(const int4& v, float (&f)[8]) {
  const __nv_bfloat162* h = reinterpret_cast<const __nv_bfloat162*>(&v);
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float2 t = __bfloat1622float2(h[i]);
    f[2 * i] = t.x;
    f[2 * i + 1] = t.y;
  }
}
__device__ __forceinline__ int4 pack8(const float (&f)[8]) {
  int4 v;
  uint32_t* u = reinterpret_cast<uint32_t*>(&v);
#pragma unroll
  for (int i = 0; i < 4; ++i) u[i] = pack_bf16(f[2 * i], f[2 * i + 1]);
  return v;
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

__device__ __forceinline__ float act(float v, int kind) {
  switch (kind) {
    case 0:
      return v / (1.f + __expf(-v));  // silu
    case 1:
      return 0.5f * v * (1.f + erff(v * 0.70710678118654752f));  // gelu (erf)
    case 2:
      return v / (1.f + __expf(-1.702f * v));  // quick_gelu
    default:
      return 1.f / (1.f + __expf(-v));  // sigmoid
  }
}

__global__ void act_kernel(bf16* x, int64_t n, int kind) {
  // 8 elements (16 bytes) per thread step; the scalar tail covers n % 8.
  const int64_t n8 = n / 8;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n8;
       i += int64_t(gridDim.x) * blockDim.x) {
    float f[8];
    unpack8(reinterpret_cast<const int4*>(x)[i], f);
#pragma unroll
    for (int e = 0; e < 8; ++e) f[e] = act(f[e], kind);
    reinterpret_cast<int4*>(x)[i] = pack8(f);
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

__global__ void add_kernel(const bf16* a, const bf16* b, bf16* c, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    c[i] = to_bf(to_f(a[i]) + to_f(b[i]));
}

__global__ void rope_kernel(bf16* x, const int32_t* __restrict__ pos, int H, int64_t tok_stride,
                            int64_t head_stride, int half, float log_theta) {
  const int64_t t = blockIdx.x;
  const float p = static_cast<float>(pos[t]);
  for (int j = threadIdx.x; j < H * half; j += blockDim.x) {
    const int h = j / half, i = j % half;
    const float inv_freq = __expf(-log_theta * (2.f * i) / (2.f * half));
    const float ang = p * inv_freq;
    float sn, cs;
    sincosf(ang, &sn, &cs);
    bf16* row = x + t * tok_stride + h * head_stride;
    const float a = to_f(row[i]), b = to_f(row[i + half]);
    row[i] = to_bf(a * cs - b * sn);
    row[i + half] = to_bf(b * cs + a * sn);
  }
}

__global__ void embedding_kernel(const bf16* __restrict__ table, const int32_t* __restrict__ ids,
                                 bf16* out, int64_t V, int D) {
  const int64_t r = blockIdx.x;
  int64_t id = ids[r];
  if (id < 0 || id >= V) id = 0;
  const int4* src = reinterpret_cast<const int4*>(table + id * D);
  int4* dst = reinterpret_cast<int4*>(out + r * D);
  for (int i = threadIdx.x; i < D / 8; i += blockDim.x) dst[i] = src[i];
}

__global__ void f32_to_bf16_kernel(const float* x, bf16* y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    y[i] = to_bf(x[i]);
}
__global__ void bf16_to_f32_kernel(const bf16* x, float* y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    y[i] = to_f(x[i]);
}

template <typename T>
__device__ __forceinline__ float load_f(const T* p, int64_t i) {
  if constexpr (sizeof(T) == 2)
    return to_f(p[i]);
  else
    return p[i];
}

template <typename T>
__global__ void argmax_kernel(const T* __restrict__ x, int32_t* out, int64_t V) {
  __shared__ float sv[32];
  __shared__ int64_t si[32];
  const int64_t row = blockIdx.x;
  float best = -INFINITY;
  int64_t bi = V;  // "none yet": larger than any index
  for (int64_t j = threadIdx.x; j < V; j += blockDim.x) {
    const float v = load_f(x + row * V, j);
    if (v > best || (bi == V && !(v != v))) {
      best = v;
      bi = j;
    }  // NaN never wins
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
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < int(blockDim.x >> 5); ++w)
      if (sv[w] > best || (sv[w] == best && si[w] < bi)) {
        best = sv[w];
        bi = si[w];
      }
    out[row] = static_cast<int32_t>(bi == V ? 0 : bi);
  }
}

int grid_for(int64_t n) {
  const int64_t b = (n + 255) / 256;
  return static_cast<int>(b < 65535 * 8 ? (b < 1 ? 1 : b) : 65535 * 8);
}

void check_rows(const Tensor& x, const Tensor& y, const char* what) {
  MVL_CHECK(x.dtype() == DType::bf16 && y.dtype() == DType::bf16, unsupported,
            "cuda::{}: bf16 only ({} -> {})", what, x.str(), y.str());
  MVL_CHECK(x.is_contiguous() && y.is_contiguous() && x.shape() == y.shape(), shape_mismatch,
            "cuda::{}: contiguous, same shapes needed ({} -> {})", what, x.str(), y.str());
  MVL_CHECK(x.device().is_cuda() && y.device().is_cuda(), invalid_argument,
            "cuda::{}: device tensors needed", what);
}

const bf16* cb(const Tensor& t) {
  return static_cast<const bf16*>(t.data());
}
bf16* mb(const Tensor& t) {
  return static_cast<bf16*>(t.data());
}

bool aligned16(const void* p) {
  return p == nullptr || reinterpret_cast<uintptr_t>(p) % 16 == 0;
}
bool vec_ok(int D, const Tensor& a, const Tensor& b) {
  return D % 8 == 0 && D <= kVecChunks * 8 * kRowThreads && aligned16(a.data()) &&
         aligned16(b.data());
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

void layer_norm(const Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b, float eps,
                const Tensor& y) {
  check_rows(x, y, "layer_norm");
  const int D = static_cast<int>(x.dim(-1));
  MVL_CHECK(w.numel() == D && b.numel() == D, shape_mismatch, "cuda::layer_norm: weight {} bias {}",
            w.str(), b.str());
  const int64_t n = x.numel() / D;
  if (n == 0) return;
  if (vec_ok(D, x, y) && vec_ok(D, w, b))
    layer_norm_vec_kernel<<<n, D <= 4 * 8 * 128 ? 128 : kRowThreads, 0, ctx.stream()>>>(
        cb(x), cb(w), cb(b), mb(y), D, eps);
  else
    layer_norm_kernel<<<n, kRowThreads, 0, ctx.stream()>>>(cb(x), cb(w), cb(b), mb(y), D, eps);
  MVL_CUDA_CHECK_LAUNCH();
}

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
  act_kernel<<<grid_for((x.numel() + 7) / 8), 256, 0, ctx.stream()>>>(mb(x), x.numel(), kind);
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

void add(const Context& ctx, const Tensor& a, const Tensor& b, const Tensor& c) {
  check_rows(a, c, "add");
  check_rows(b, c, "add");
  if (c.numel() == 0) return;
  add_kernel<<<grid_for(c.numel()), 256, 0, ctx.stream()>>>(cb(a), cb(b), mb(c), c.numel());
  MVL_CUDA_CHECK_LAUNCH();
}

void rope_partial(const Context& ctx, const Tensor& x, const Tensor& positions, int rotary_dim,
                  float theta) {
  MVL_CHECK(x.ndim() == 3 && x.dtype() == DType::bf16 && x.strides()[2] == 1, shape_mismatch,
            "cuda::rope_partial: x must be bf16 [n, H, d] with a contiguous last dim, got {}",
            x.str());
  MVL_CHECK(rotary_dim % 2 == 0 && rotary_dim <= x.dim(2), invalid_argument,
            "cuda::rope_partial: rotary_dim {}", rotary_dim);
  MVL_CHECK(positions.dtype() == DType::i32 && positions.numel() == x.dim(0), shape_mismatch,
            "cuda::rope_partial: positions {} for x {}", positions.str(), x.str());
  if (x.dim(0) == 0) return;
  rope_kernel<<<x.dim(0), 256, 0, ctx.stream()>>>(
      mb(x), static_cast<const int32_t*>(positions.data()), static_cast<int>(x.dim(1)),
      x.strides()[0], x.strides()[1], rotary_dim / 2, std::log(theta));
  MVL_CUDA_CHECK_LAUNCH();
}

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

void convert(const Context& ctx, const Tensor& x, const Tensor& y) {
  MVL_CHECK(x.numel() == y.numel() && x.is_contiguous() && y.is_contiguous(), shape_mismatch,
            "cuda::convert: {} -> {}", x.str(), y.str());
  const int64_t n = x.numel();
  if (n == 0) return;
  if (x.dtype() == y.dtype()) {
    MVL_CUDA_CHECK(
        cudaMemcpyAsync(y.data(), x.data(), x.nbytes(), cudaMemcpyDeviceToDevice, ctx.stream()));
  } else if (x.dtype() == DType::f32 && y.dtype() == DType::bf16) {
    f32_to_bf16_kernel<<<grid_for(n), 256, 0, ctx.stream()>>>(static_cast<const float*>(x.data()),
                                                              mb(y), n);
  } else if (x.dtype() == DType::bf16 && y.dtype() == DType::f32) {
    bf16_to_f32_kernel<<<grid_for(n), 256, 0, ctx.stream()>>>(cb(x), static_cast<float*>(y.data()),
                                                              n);
  } else {
    throw_error(ErrorCategory::unsupported,
                fmt::format("cuda::convert: {} -> {}", x.str(), y.str()));
  }
  MVL_CUDA_CHECK_LAUNCH();
}

void argmax(const Context& ctx, const Tensor& logits, const Tensor& out) {
  MVL_CHECK(logits.ndim() == 2 && logits.is_contiguous(), shape_mismatch, "cuda::argmax: logits {}",
            logits.str());
  MVL_CHECK(out.dtype() == DType::i32 && out.numel() == logits.dim(0), shape_mismatch,
            "cuda::argmax: out {}", out.str());
  const int64_t n = logits.dim(0), V = logits.dim(1);
  if (n == 0) return;
  if (logits.dtype() == DType::f32)
    argmax_kernel<float><<<n, 1024, 0, ctx.stream()>>>(static_cast<const float*>(logits.data()),
                                                       static_cast<int32_t*>(out.data()), V);
  else
    argmax_kernel<bf16>
        <<<n, 1024, 0, ctx.stream()>>>(cb(logits), static_cast<int32_t*>(out.data()), V);
  MVL_CUDA_CHECK_LAUNCH();
}

}  // namespace mvl::cuda
