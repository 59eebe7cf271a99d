// A verbatim copy of the quantized-MoE decode kernels and the dense quantized GEMV as they were at
// main b55a7bb (before the issue-17 speed work: kernels/cuda/quant_moe.cu, quant.cu's
// quant_gemv_kernel and the chunk helpers of quant.cuh), kept only
// as the baseline of kernels/bench/quant_moe_sweep.cu: every new configuration is checked
// against it and timed beside it. Namespaced so that nothing clashes with the product kernels.
#pragma once

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/moe.h"
#include "kernels/cuda/quant.cuh"

namespace mvl::cuda::qmoe_base {

using namespace dev;
using qdev::chunk_elems;
using qdev::fp8x2_to_f2;
using qdev::kF8;
using qdev::kI4;
using qdev::kI8;

// One chunk of codes -> its weights (int4: q - z; scales applied by the caller).
template <int F>
__device__ __forceinline__ void dequant_chunk(const int4& c, float z,
                                              float (&w)[chunk_elems<F>()]) {
  const uint32_t u[4] = {static_cast<uint32_t>(c.x), static_cast<uint32_t>(c.y),
                         static_cast<uint32_t>(c.z), static_cast<uint32_t>(c.w)};
  if constexpr (F == kI8) {
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
      for (int b = 0; b < 4; ++b)
        w[4 * i + b] = static_cast<float>(static_cast<int8_t>((u[i] >> (8 * b)) & 0xFFu));
  } else if constexpr (F == kF8) {
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const float2 a = fp8x2_to_f2(u[i]), b = fp8x2_to_f2(u[i] >> 16);
      w[4 * i] = a.x;
      w[4 * i + 1] = a.y;
      w[4 * i + 2] = b.x;
      w[4 * i + 3] = b.y;
    }
  } else {
    const float off = 8388608.0f + z;  // 2^23 + z: exact for z in [0, 15]
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
      for (int m = 0; m < 8; ++m)
        w[8 * i + m] = __int_as_float(0x4B000000 | ((u[i] >> (4 * m)) & 0xFu)) - off;
  }
}

__device__ __forceinline__ int4 ld_stream(const int4* p) {
  int4 v;
  asm volatile("ld.global.nc.L1::no_allocate.L2::256B.v4.s32 {%0,%1,%2,%3}, [%4];"
               : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
               : "l"(p));
  return v;
}


// Partial dot of weights w[E] with E activations at xr (16-byte aligned).
template <int E, typename XT>
__device__ __forceinline__ float dot_chunk(const float (&w)[E], const XT* xr) {
  float p = 0.f;
  if constexpr (sizeof(XT) == 2) {
#pragma unroll
    for (int i = 0; i < E / 8; ++i) {
      float f[8];
      dev::unpack8(__ldg(reinterpret_cast<const int4*>(xr) + i), f);
#pragma unroll
      for (int j = 0; j < 8; ++j) p = fmaf(w[8 * i + j], f[j], p);
    }
  } else {
#pragma unroll
    for (int i = 0; i < E / 4; ++i) {
      const float4 f = __ldg(reinterpret_cast<const float4*>(xr) + i);
      p = fmaf(w[4 * i], f.x, p);
      p = fmaf(w[4 * i + 1], f.y, p);
      p = fmaf(w[4 * i + 2], f.z, p);
      p = fmaf(w[4 * i + 3], f.w, p);
    }
  }
  return p;
}

constexpr int kWarps = 8;
constexpr int kTok = 8;     // tokens per pass over a row
constexpr int kUnroll = 4;  // 16-byte chunks in flight per lane (per row)

template <int F>
__device__ __forceinline__ void row_scale_zero(const float* scales, const float* zeros, int64_t row,
                                               int sr, int k, float& s, float& z) {
  if constexpr (F == kI4) {
    const int64_t g = row * sr + k / kInt4GroupSize;
    s = __ldg(scales + g);
    z = __ldg(zeros + g);
  } else {
    s = 1.f;
    z = 0.f;
  }
}

template <int F>
__global__ void __launch_bounds__(kWarps * 32)
    qmoe_gate_up_kernel(const bf16* __restrict__ x, const uint8_t* __restrict__ codes,
                        const float* __restrict__ scales, const float* __restrict__ zeros,
                        const int32_t* __restrict__ offsets, const int32_t* __restrict__ perm,
                        const int32_t* __restrict__ active, bf16* __restrict__ h, int D, int Fd,
                        int E) {
  constexpr int EC = chunk_elems<F>();
  if (static_cast<int>(blockIdx.y) >= active[E]) return;
  const int e = active[blockIdx.y];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int j = blockIdx.x * kWarps + warp;
  if (j >= Fd) return;
  const int beg = offsets[e], cnt = offsets[e + 1] - beg;
  const int64_t rg = int64_t(e) * 2 * Fd + j, ru = rg + Fd;
  const int64_t cb = F == kI4 ? D / 2 : D;
  const int sr = F == kI4 ? (D + kInt4GroupSize - 1) / kInt4GroupSize : 1;
  const int chunks = D / EC;
  const int4* wg = reinterpret_cast<const int4*>(codes + rg * cb);
  const int4* wu = reinterpret_cast<const int4*>(codes + ru * cb);
  const float sg = F == kI4 ? 1.f : __ldg(scales + rg), su = F == kI4 ? 1.f : __ldg(scales + ru);
  for (int t0 = 0; t0 < cnt; t0 += kTok) {
    const int nt = min(kTok, cnt - t0);
    const bf16* xr[kTok];
#pragma unroll
    for (int tt = 0; tt < kTok; ++tt)
      xr[tt] = x + int64_t(perm[beg + t0 + min(tt, nt - 1)] / 2) * D;
    float ag[kTok] = {}, au[kTok] = {};
    for (int c0 = lane; c0 < chunks; c0 += 32 * kUnroll) {
      int4 g4[kUnroll], u4[kUnroll];
#pragma unroll
      for (int u = 0; u < kUnroll; ++u)
        if (c0 + 32 * u < chunks) {
          g4[u] = ld_stream(wg + c0 + 32 * u);
          u4[u] = ld_stream(wu + c0 + 32 * u);
        }
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        const int c = c0 + 32 * u;
        if (c < chunks) {
          float s, z;
          float w[EC];
          row_scale_zero<F>(scales, zeros, rg, sr, c * EC, s, z);
          dequant_chunk<F>(g4[u], z, w);
#pragma unroll
          for (int tt = 0; tt < kTok; ++tt)
            if (tt < nt) ag[tt] = fmaf(s, dot_chunk<EC>(w, xr[tt] + int64_t(c) * EC), ag[tt]);
          row_scale_zero<F>(scales, zeros, ru, sr, c * EC, s, z);
          dequant_chunk<F>(u4[u], z, w);
#pragma unroll
          for (int tt = 0; tt < kTok; ++tt)
            if (tt < nt) au[tt] = fmaf(s, dot_chunk<EC>(w, xr[tt] + int64_t(c) * EC), au[tt]);
        }
      }
    }
#pragma unroll
    for (int tt = 0; tt < kTok; ++tt) {
      if (tt < nt) {
        const float g = warp_sum(ag[tt]) * sg, u = warp_sum(au[tt]) * su;
        if (lane == 0) {
          const float gb = round_bf(g), ub = round_bf(u);
          h[int64_t(beg + t0 + tt) * Fd + j] = to_bf(round_bf(gb / (1.f + __expf(-gb))) * ub);
        }
      }
    }
  }
}

template <int F>
__global__ void __launch_bounds__(kWarps * 32)
    qmoe_down_kernel(const bf16* __restrict__ h, const uint8_t* __restrict__ codes,
                     const float* __restrict__ scales, const float* __restrict__ zeros,
                     const int32_t* __restrict__ offsets, const int32_t* __restrict__ perm,
                     const float* __restrict__ wts, const int32_t* __restrict__ active,
                     bf16* __restrict__ out, int n, int D, int Fd, int E) {
  constexpr int EC = chunk_elems<F>();
  __shared__ float acc_s[kWarps][kMoeDecodeMaxTokens];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int i = blockIdx.x * kWarps + warp;
  if (i >= D) return;  // whole warps only: no block-wide barrier below
  for (int t = lane; t < n; t += 32) acc_s[warp][t] = 0.f;
  __syncwarp();
  const int64_t cb = F == kI4 ? Fd / 2 : Fd;
  const int sr = F == kI4 ? (Fd + kInt4GroupSize - 1) / kInt4GroupSize : 1;
  const int chunks = Fd / EC;
  const int n_act = active[E];
  for (int ra = 0; ra < n_act; ++ra) {
    const int e = active[ra];
    const int beg = offsets[e], cnt = offsets[e + 1] - beg;
    const int64_t row = int64_t(e) * D + i;
    const int4* wr = reinterpret_cast<const int4*>(codes + row * cb);
    const float rs = F == kI4 ? 1.f : __ldg(scales + row);
    for (int t0 = 0; t0 < cnt; t0 += kTok) {
      const int nt = min(kTok, cnt - t0);
      float a[kTok] = {};
      for (int c0 = lane; c0 < chunks; c0 += 32 * kUnroll) {
        int4 w4[kUnroll];
#pragma unroll
        for (int u = 0; u < kUnroll; ++u)
          if (c0 + 32 * u < chunks) w4[u] = ld_stream(wr + c0 + 32 * u);
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) {
          const int c = c0 + 32 * u;
          if (c < chunks) {
            float s, z;
            float w[EC];
            row_scale_zero<F>(scales, zeros, row, sr, c * EC, s, z);
            dequant_chunk<F>(w4[u], z, w);
#pragma unroll
            for (int tt = 0; tt < kTok; ++tt)
              if (tt < nt)
                a[tt] = fmaf(s, dot_chunk<EC>(w, h + int64_t(beg + t0 + tt) * Fd + int64_t(c) * EC),
                             a[tt]);
          }
        }
      }
#pragma unroll
      for (int tt = 0; tt < kTok; ++tt) {
        if (tt < nt) {
          const float v = warp_sum(a[tt]) * rs;
          if (lane == 0) {
            const int asg = perm[beg + t0 + tt];
            acc_s[warp][asg / 2] += wts[asg] * round_bf(v);  // expert output is bf16 (reference)
          }
        }
      }
    }
  }
  __syncwarp();
  for (int t = lane; t < n; t += 32) out[int64_t(t) * D + i] = to_bf(acc_s[warp][t]);
}

// The product launcher of that version, with the two kernels selectable (timed one at a time).
template <int F>
void launch(const bf16* x, const uint8_t* c13, const float* s13, const float* z13,
            const uint8_t* c2, const float* s2, const float* z2, const int32_t* off,
            const int32_t* perm, const float* wts, const int32_t* act, bf16* h, bf16* out, int n,
            int D, int Fd, int E, cudaStream_t st, bool gate_up, bool down) {
  const unsigned expert_rows = static_cast<unsigned>(std::min(E, 2 * n));
  if (gate_up)
    qmoe_gate_up_kernel<F><<<dim3(static_cast<unsigned>((Fd + kWarps - 1) / kWarps), expert_rows),
                             kWarps * 32, 0, st>>>(x, c13, s13, z13, off, perm, act, h, D, Fd, E);
  if (down)
    qmoe_down_kernel<F><<<static_cast<unsigned>((D + kWarps - 1) / kWarps), kWarps * 32, 0, st>>>(
        h, c2, s2, z2, off, perm, wts, act, out, n, D, Fd, E);
}

// The dense decode GEMV of kernels/cuda/quant.cu at the same commit (the `--quant int8` dense
// projections), verbatim, with the store helper of quant.cuh.
template <typename T>
__device__ __forceinline__ void store(T* p, float v) {
  if constexpr (sizeof(T) == 2)
    *p = dev::to_bf(v);
  else
    *p = v;
}

constexpr int kGemvWarps = 8;
constexpr int kGemvTok = 8;
constexpr int kGemvUnroll = 4;

template <int F, typename XT, typename YT>
__global__ void __launch_bounds__(kGemvWarps * 32)
    quant_gemv_kernel(const XT* __restrict__ x, const uint8_t* __restrict__ codes,
                      const float* __restrict__ scales, const float* __restrict__ zeros,
                      YT* __restrict__ y, int n, int64_t rows, int in) {
  constexpr int E = chunk_elems<F>();
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int64_t row = int64_t(blockIdx.x) * kGemvWarps + warp;
  if (row >= rows) return;
  const int t0 = blockIdx.y * kGemvTok, nt = min(kGemvTok, n - t0);
  const int chunks = in / E;
  const int64_t cb = F == kI4 ? in / 2 : in;
  const int sr = F == kI4 ? (in + kInt4GroupSize - 1) / kInt4GroupSize : 1;
  const int4* wr = reinterpret_cast<const int4*>(codes + row * cb);
  float acc[kGemvTok] = {};
  for (int c0 = lane; c0 < chunks; c0 += 32 * kGemvUnroll) {
    int4 wv[kGemvUnroll];
#pragma unroll
    for (int u = 0; u < kGemvUnroll; ++u)
      if (c0 + 32 * u < chunks) wv[u] = ld_stream(wr + c0 + 32 * u);
#pragma unroll
    for (int u = 0; u < kGemvUnroll; ++u) {
      const int c = c0 + 32 * u;
      if (c < chunks) {
        float s = 1.f, z = 0.f;
        if constexpr (F == kI4) {
          const int64_t g = row * sr + (c * E) / kInt4GroupSize;
          s = __ldg(scales + g);
          z = __ldg(zeros + g);
        }
        float w[E];
        dequant_chunk<F>(wv[u], z, w);
#pragma unroll
        for (int tt = 0; tt < kGemvTok; ++tt) {
          if (tt < nt) {
            const float p = dot_chunk<E>(w, x + int64_t(t0 + tt) * in + int64_t(c) * E);
            if constexpr (F == kI4)
              acc[tt] = fmaf(s, p, acc[tt]);
            else
              acc[tt] += p;
          }
        }
      }
    }
  }
  const float rs = F == kI4 ? 1.f : __ldg(scales + row);
#pragma unroll
  for (int tt = 0; tt < kGemvTok; ++tt) {
    if (tt < nt) {
      const float v = warp_sum(acc[tt]);
      if (lane == 0) store(y + int64_t(t0 + tt) * rows + row, v * rs);
    }
  }
}

template <int F>
void launch_gemv(const bf16* x, const uint8_t* codes, const float* scales, const float* zeros,
                 bf16* y, int n, int64_t rows, int in, cudaStream_t st) {
  const dim3 grid(static_cast<unsigned>((rows + kGemvWarps - 1) / kGemvWarps),
                  static_cast<unsigned>((n + kGemvTok - 1) / kGemvTok));
  quant_gemv_kernel<F, bf16, bf16><<<grid, kGemvWarps * 32, 0, st>>>(x, codes, scales, zeros, y,
                                                                     n, rows, in);
}

}  // namespace mvl::cuda::qmoe_base
