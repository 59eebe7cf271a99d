// The MoE block with weight-only quantized experts (int8, fp8 e4m3, int4 g128), bf16
// activations. Decode (n <= 64): moe.cu's router GEMV + one-CTA route/sort (moe_decode_route),
// then two grouped kernels over the active experts that read each touched expert's codes once
// per 8 of its tokens: gate/up (a warp per row j of expert e: its gate row j and up row F + j,
// 16-byte code chunks dequantized in registers, f32 dots, h = bf16(silu(bf16 g)) * bf16 u as
// moe.cu) and down (a warp per output row i walks the active experts in ascending order and adds
// w_(t,k) * bf16(w2_e[i] . h) into a shared-memory f32 accumulator per token: no atomics, the
// reference's order, one bf16 rounding). Grid (F/8, active experts) and D/8; 8 warps a CTA;
// 2 KB of shared memory. Prefill: moe.cu's permute + per-expert cuBLASLt GEMMs, each active
// expert dequantized to bf16 just before its GEMM (one reused buffer per projection); fp8
// experts instead run FP8 tensor-core GEMMs on per-token e4m3 activations (fp8_gemm.h) where
// cuBLASLt offers them (reference: cpu::linear_fp8_activations; tests/gpu/fp8_gemm_cuda_test).
// CPU reference: cpu::moe_experts on the dequantized weights (kernels/cpu/moe.cpp via
// ops::moe_experts); test: tests/gpu/quant_cuda_test.cpp.
#include "kernels/core/error.h"
#include "kernels/cuda/check.cuh"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/fp8_gemm.h"
#include "kernels/cuda/linear.h"
#include "kernels/cuda/moe.h"
#include "kernels/cuda/quant.cuh"
#include "kernels/cuda/quant.h"
#include "kernels/cuda/storage.h"

namespace mvl::cuda {

using namespace dev;
using namespace qdev;

namespace {

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

template <int F>
void launch_decode(const Context& ctx, const bf16* x, const QuantMoeWeights& w, const int32_t* off,
                   const int32_t* perm, const float* wts, const int32_t* act, bf16* h, bf16* out,
                   int64_t n) {
  const int D = static_cast<int>(w.D), Fd = static_cast<int>(w.F), E = static_cast<int>(w.E);
  const unsigned expert_rows = static_cast<unsigned>(std::min<int64_t>(w.E, 2 * n));
  qmoe_gate_up_kernel<F>
      <<<dim3(static_cast<unsigned>((Fd + kWarps - 1) / kWarps), expert_rows), kWarps * 32, 0,
         ctx.stream()>>>(x, w.w13.codes, w.w13.scales, w.w13.zeros, off, perm, act, h, D, Fd, E);
  MVL_CUDA_CHECK_LAUNCH();
  qmoe_down_kernel<F>
      <<<static_cast<unsigned>((D + kWarps - 1) / kWarps), kWarps * 32, 0, ctx.stream()>>>(
          h, w.w2.codes, w.w2.scales, w.w2.zeros, off, perm, wts, act, out, static_cast<int>(n), D,
          Fd, E);
  MVL_CUDA_CHECK_LAUNCH();
}

}  // namespace

bool quant_moe_supported(const QuantMoeWeights& w) {
  return w.E >= 2 && w.E <= 32 && w.w13.format == w.w2.format && w.w13.rows == w.E * 2 * w.F &&
         w.w13.in == w.D && w.w2.rows == w.E * w.D && w.w2.in == w.F &&
         quant_gemv_supported(w.w13) && quant_gemv_supported(w.w2) && w.router.defined() &&
         w.router.dtype() == DType::bf16 && w.router.dim(0) == w.E && w.router.dim(1) == w.D &&
         w.D % 8 == 0 && w.F % 8 == 0;
}

void quant_moe_forward(const Context& ctx, const Tensor& x, const QuantMoeWeights& w,
                       const Tensor& out) {
  MVL_CHECK(x.dtype() == DType::bf16 && x.ndim() == 2 && x.is_contiguous() && x.dim(1) == w.D &&
                out.shape() == x.shape() && out.dtype() == DType::bf16,
            shape_mismatch, "cuda::quant_moe_forward: x {} out {} (D {})", x.str(), out.str(), w.D);
  MVL_CHECK(quant_moe_supported(w), unsupported,
            "cuda::quant_moe_forward: {} experts, D {} F {}, {} codes: shapes or alignment not "
            "supported",
            w.E, w.D, w.F, weight_format_name(w.w13.format));
  const int64_t n = x.dim(0), E = w.E, D = w.D, F = w.F, na = 2 * n;
  if (n == 0) return;
  if (n <= kMoeDecodeMaxTokens) {
    Scratch scratch(ctx,
                    {{n * E * 4}, {na * 4}, {(E + 1) * 4}, {na * 4}, {(E + 1) * 4}, {na * F * 2}});
    Tensor logits = scratch.take({n, E}, DType::f32);
    Tensor wts = scratch.take({na}, DType::f32);
    Tensor offsets = scratch.take({E + 1}, DType::i32);
    Tensor perm = scratch.take({na}, DType::i32);
    Tensor active = scratch.take({E + 1}, DType::i32);
    Tensor h = scratch.take({na, F}, DType::bf16);
    moe_decode_route(ctx, x, w.router, logits.data<float>(), wts.data<float>(),
                     offsets.data<int32_t>(), perm.data<int32_t>(), active.data<int32_t>());
    const auto* xp = static_cast<const bf16*>(x.data());
    auto* hp = static_cast<bf16*>(h.data());
    auto* op = static_cast<bf16*>(out.data());
    switch (w.w13.format) {
      case WeightFormat::int8:
        launch_decode<kI8>(ctx, xp, w, offsets.data<int32_t>(), perm.data<int32_t>(),
                           wts.data<float>(), active.data<int32_t>(), hp, op, n);
        break;
      case WeightFormat::fp8_e4m3:
        launch_decode<kF8>(ctx, xp, w, offsets.data<int32_t>(), perm.data<int32_t>(),
                           wts.data<float>(), active.data<int32_t>(), hp, op, n);
        break;
      case WeightFormat::int4:
        launch_decode<kI4>(ctx, xp, w, offsets.data<int32_t>(), perm.data<int32_t>(),
                           wts.data<float>(), active.data<int32_t>(), hp, op, n);
        break;
      case WeightFormat::plain:
        break;
    }
    return;
  }
  // Prefill. fp8 weights where cuBLASLt runs FP8 GEMMs with per-token scales (asked once per
  // context, fp8_gemm_available): each expert's activation rows (x, then the SwiGLU output h)
  // quantized per row to e4m3 and its GEMMs on the FP8 tensor cores. Otherwise, and for any
  // shape without an FP8 algorithm, each active expert's weights dequantized to bf16 right
  // before a bf16 GEMM (one reused buffer per projection).
  Tensor b13, b2;
  const auto bf16_gate_up = [&](int64_t e, const Tensor& xe, const Tensor& ye) {
    if (!b13.defined()) b13 = empty({2 * F, D}, DType::bf16, ctx);
    dequantize_bf16(ctx, w.w13, e * 2 * F, 2 * F, b13.data());
    gemm_raw(ctx, xe.data(), b13.data(), ye.data(), true, xe.dim(0), D, 2 * F);
  };
  const auto bf16_down = [&](int64_t e, const Tensor& he, const Tensor& ye) {
    if (!b2.defined()) b2 = empty({D, F}, DType::bf16, ctx);
    dequantize_bf16(ctx, w.w2, e * D, D, b2.data());
    gemm_raw(ctx, he.data(), b2.data(), ye.data(), true, he.dim(0), F, D);
  };
  if (w.w13.format != WeightFormat::fp8_e4m3 || !fp8_gemm_available(ctx)) {
    moe_prefill(ctx, x, w.router, F, bf16_gate_up, bf16_down, out);
    return;
  }
  const Fp8Rows act = fp8_rows(ctx, n, std::max(D, F));  // an expert has at most n tokens
  moe_prefill(
      ctx, x, w.router, F,
      [&](int64_t e, const Tensor& xe, const Tensor& ye) {
        if (!fp8_linear(ctx, xe, w.w13, e * 2 * F, 2 * F, ye, act)) bf16_gate_up(e, xe, ye);
      },
      [&](int64_t e, const Tensor& he, const Tensor& ye) {
        if (!fp8_linear(ctx, he, w.w2, e * D, D, ye, act)) bf16_down(e, he, ye);
      },
      out);
}

}  // namespace mvl::cuda
