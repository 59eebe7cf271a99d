// The MoE block with weight-only quantized experts (int8, fp8 e4m3, int4 g128), bf16
// activations. Decode (n <= 64): moe.cu's router GEMV + one-CTA route/sort (moe_decode_route),
// then two grouped kernels over the active experts (quant_moe_decode.cuh; int4 on the tensor
// cores, quant_moe_int4.cuh) that read each touched
// expert's codes once per kTok of its tokens: gate/up (a warp per ROWS outputs j of expert e:
// gate rows j and up rows F + j, 16-byte code chunks dequantized in registers, f32 dots,
// h = bf16(silu(bf16 g)) * bf16 u as moe.cu) and down (a warp per output row i walks the active
// experts in ascending order and adds w_(t,k) * bf16(w2_e[i] . h) into a shared-memory f32
// accumulator per token: no atomics, the reference's order, one bf16 rounding). Tiling per format
// in QmoeTuned below; down uses WARPS * 256 B of shared memory. Prefill: moe.cu's permute +
// per-expert cuBLASLt GEMMs, each active expert dequantized to bf16 just before its GEMM (one
// reused buffer per projection); fp8 experts instead run FP8 tensor-core GEMMs on per-token
// e4m3 activations (fp8_gemm.h; all rows quantized in one launch before the experts' GEMMs)
// where cuBLASLt offers them (reference:
// cpu::linear_fp8_activations; tests/gpu/fp8_gemm_cuda_test).
// CPU reference: cpu::moe_experts on the dequantized weights (kernels/cpu/moe.cpp via
// ops::moe_experts); test: tests/gpu/quant_cuda_test.cpp.
// quant_moe_range_forward (one rank of expert parallelism) is the same code on a range of the
// experts: decode narrows the routing's lists to the held experts (narrow_lists_kernel), prefill
// zeroes the other experts' rows; test: tests/llm/sharded_quant_cuda_test.cpp.
#include "kernels/core/error.h"
#include "kernels/cuda/check.cuh"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/fp8_gemm.h"
#include "kernels/cuda/linear.h"
#include "kernels/cuda/moe.h"
#include "kernels/cuda/quant.cuh"
#include "kernels/cuda/quant.h"
#include "kernels/cuda/quant_moe_decode.cuh"
#include "kernels/cuda/quant_moe_int4.cuh"
#include "kernels/cuda/storage.h"

namespace mvl::cuda {

using namespace dev;
using namespace qdev;

namespace {

// The one configuration per format the product runs (the sweep, kernels/bench/quant_moe_sweep.cu,
// times the alternatives at the released shapes; set these from its table). Gate/up: WARPS warps
// a CTA, ROWS outputs (2 * ROWS code rows) a warp, UNROLL 16-byte chunks per row in flight per
// lane, PIPE 1 = the next UNROLL chunks loaded before the current ones' math; down: a warp per
// output row. kTok: tokens per pass over a row when n > kTok1MaxN; n <= kTok1MaxN runs the
// TOK = 1 instances (one accumulator per row; a token per pass, repeated passes hit L2). UNROLL
// divides the chunks per lane at the released shapes (D 6144, F 9216: int8/fp8 12 and 18, int4 6
// and 9) so no pass is half empty.
template <int F>
struct QmoeTuned {
  static constexpr int kGuWarps = 8, kGuRows = 1, kGuUnroll = 4, kGuPipe = 0;
  static constexpr int kDnWarps = 8, kDnUnroll = 6, kDnPipe = 0;
  static constexpr int kTok = 4, kTok1MaxN = 1;
  // The n <= kTok1MaxN instances: u2 / u2 measured best at n = 1 (H100 sweep, session 6: the layer
  // at 1.04x its bytes floor, vs 1.14x with the n > 1 unrolls); keep quant_moe_sweep_variants.cuh's
  // `true` flags in step.
  static constexpr int kGu1Unroll = 2, kDn1Unroll = 2;
};
// int4: the tensor-core kernels of quant_moe_int4.cuh at every n when D and F are whole
// 128-groups (KS warps per 16-row tile, U groups in flight per warp; the sweep's "mma" rows),
// else the CUDA-core kernels below (1.53-1.76x the bytes floor at n = 1: issue-bound, see
// quant_moe_int4.cuh).
template <>
struct QmoeTuned<kI4> {
  static constexpr bool kMma = true;
  static constexpr int kMmaGuKs = 4, kMmaGuU = 2, kMmaDnKs = 6, kMmaDnU = 2;
  static constexpr int kGuWarps = 8, kGuRows = 1, kGuUnroll = 3, kGuPipe = 0;
  static constexpr int kDnWarps = 8, kDnUnroll = 3, kDnPipe = 0;
  static constexpr int kTok = 4, kTok1MaxN = 1;
  static constexpr int kGu1Unroll = 3, kDn1Unroll = 3;
};

template <int F>
void launch_decode(const Context& ctx, const qmoe::DecodeArgs& a) {
  using T = QmoeTuned<F>;
  if constexpr (F == kI4) {
    if (T::kMma && qmoe::i4_mma_fits(a.D, a.F)) {
      qmoe::launch_gate_up_i4<T::kMmaGuKs, T::kMmaGuU>(a, ctx.stream());
      MVL_CUDA_CHECK_LAUNCH();
      qmoe::launch_down_i4<T::kMmaDnKs, T::kMmaDnU>(a, ctx.stream());
      MVL_CUDA_CHECK_LAUNCH();
      return;
    }
  }
  if (a.n <= T::kTok1MaxN) {
    qmoe::launch_gate_up<F, T::kGuWarps, 1, T::kGu1Unroll, T::kGuRows, T::kGuPipe>(a, ctx.stream());
    MVL_CUDA_CHECK_LAUNCH();
    qmoe::launch_down<F, T::kDnWarps, 1, T::kDn1Unroll, T::kDnPipe>(a, ctx.stream());
  } else {
    qmoe::launch_gate_up<F, T::kGuWarps, T::kTok, T::kGuUnroll, T::kGuRows, T::kGuPipe>(
        a, ctx.stream());
    MVL_CUDA_CHECK_LAUNCH();
    qmoe::launch_down<F, T::kDnWarps, T::kTok, T::kDnUnroll, T::kDnPipe>(a, ctx.stream());
  }
  MVL_CUDA_CHECK_LAUNCH();
}

// The decode routing's per-expert lists narrowed to the held experts [e0, e0 + local) and
// renumbered from 0 (quant_moe_range_forward): loff[k] = offsets[e0 + k] for k <= local (the
// token slots stay where the full routing put them), lact = the held active experts, ascending,
// lact[local] = how many. One CTA (at most 32 experts).
__global__ void narrow_lists_kernel(const int32_t* __restrict__ offsets,
                                    const int32_t* __restrict__ active, int E, int e0, int local,
                                    int32_t* __restrict__ loff, int32_t* __restrict__ lact) {
  for (int k = threadIdx.x; k <= local; k += blockDim.x) loff[k] = offsets[e0 + k];
  if (threadIdx.x == 0) {
    const int na = active[E];
    int r = 0;
    for (int i = 0; i < na; ++i) {
      const int e = active[i];
      if (e >= e0 && e < e0 + local) lact[r++] = e - e0;
    }
    lact[local] = r;
  }
}

// The decode path (n <= kMoeDecodeMaxTokens) of experts [e0, e0 + local) of w.E: route over all
// of them, then (narrowed when local < w.E) the grouped kernels of the held ones.
void decode(const Context& ctx, const Tensor& x, const QuantMoeWeights& w, int64_t e0,
            int64_t local, const Tensor& out) {
  const int64_t n = x.dim(0), E = w.E, D = w.D, F = w.F, na = 2 * n;
  const bool narrow = local < E;
  Scratch scratch(ctx, {{n * E * 4},
                        {na * 4},
                        {(E + 1) * 4},
                        {na * 4},
                        {(E + 1) * 4},
                        {na * F * 2},
                        {narrow ? (local + 1) * 4 : 0},  // the narrowed lists (none at tp 1)
                        {narrow ? (local + 1) * 4 : 0}});
  Tensor logits = scratch.take({n, E}, DType::f32);
  Tensor wts = scratch.take({na}, DType::f32);
  Tensor offsets = scratch.take({E + 1}, DType::i32);
  Tensor perm = scratch.take({na}, DType::i32);
  Tensor active = scratch.take({E + 1}, DType::i32);
  Tensor h = scratch.take({na, F}, DType::bf16);
  moe_decode_route(ctx, x, w.router, logits.data<float>(), wts.data<float>(),
                   offsets.data<int32_t>(), perm.data<int32_t>(), active.data<int32_t>());
  const int32_t* off = offsets.data<int32_t>();
  const int32_t* act = active.data<int32_t>();
  if (narrow) {
    Tensor loff = scratch.take({local + 1}, DType::i32);
    Tensor lact = scratch.take({local + 1}, DType::i32);
    narrow_lists_kernel<<<1, 64, 0, ctx.stream()>>>(off, act, static_cast<int>(E),
                                                    static_cast<int>(e0), static_cast<int>(local),
                                                    loff.data<int32_t>(), lact.data<int32_t>());
    MVL_CUDA_CHECK_LAUNCH();
    off = loff.data<int32_t>();
    act = lact.data<int32_t>();
  }
  const qmoe::DecodeArgs a{static_cast<const bf16*>(x.data()),
                           w.w13.codes,
                           w.w2.codes,
                           w.w13.scales,
                           w.w13.zeros,
                           w.w2.scales,
                           w.w2.zeros,
                           off,
                           perm.data<int32_t>(),
                           act,
                           wts.data<float>(),
                           static_cast<bf16*>(h.data()),
                           static_cast<bf16*>(out.data()),
                           static_cast<int>(n),
                           static_cast<int>(D),
                           static_cast<int>(F),
                           static_cast<int>(local)};
  switch (w.w13.format) {
    case WeightFormat::int8:
      launch_decode<kI8>(ctx, a);
      break;
    case WeightFormat::fp8_e4m3:
      launch_decode<kF8>(ctx, a);
      break;
    case WeightFormat::int4:
      launch_decode<kI4>(ctx, a);
      break;
    case WeightFormat::plain:
      break;
  }
}

void prefill(const Context& ctx, const Tensor& x, const QuantMoeWeights& w, int64_t e0,
             int64_t local, const Tensor& out);

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
  const int64_t n = x.dim(0);
  if (n == 0) return;
  if (n <= kMoeDecodeMaxTokens)
    decode(ctx, x, w, 0, w.E, out);
  else
    prefill(ctx, x, w, 0, w.E, out);
}

bool quant_moe_range_supported(const QuantMoeRange& r) {
  QuantMoeWeights all = r.w;  // the held experts' matrices against the rules at E experts
  all.w13.rows = r.w.w13.rows / std::max<int64_t>(r.local, 1) * r.w.E;
  all.w2.rows = r.w.w2.rows / std::max<int64_t>(r.local, 1) * r.w.E;
  return r.local >= 1 && r.expert0 >= 0 && r.expert0 + r.local <= r.w.E &&
         r.w.w13.rows == r.local * 2 * r.w.F && r.w.w2.rows == r.local * r.w.D &&
         quant_moe_supported(all);
}

void quant_moe_range_forward(const Context& ctx, const Tensor& x, const QuantMoeRange& r,
                             const Tensor& out) {
  const QuantMoeWeights& w = r.w;
  MVL_CHECK(x.dtype() == DType::bf16 && x.ndim() == 2 && x.is_contiguous() && x.dim(1) == w.D &&
                out.shape() == x.shape() && out.dtype() == DType::bf16,
            shape_mismatch, "cuda::quant_moe_range_forward: x {} out {} (D {})", x.str(),
            out.str(), w.D);
  MVL_CHECK(quant_moe_range_supported(r), unsupported,
            "cuda::quant_moe_range_forward: experts [{}, {}) of {}, D {} F {}, {} codes: shapes "
            "or alignment not supported",
            r.expert0, r.expert0 + r.local, w.E, w.D, w.F, weight_format_name(w.w13.format));
  const int64_t n = x.dim(0);
  if (n == 0) return;
  if (n <= kMoeDecodeMaxTokens)
    decode(ctx, x, w, r.expert0, r.local, out);
  else
    prefill(ctx, x, w, r.expert0, r.local, out);
}

namespace {
// The prefill path of experts [e0, e0 + local) of w.E (w13 / w2 hold just those): moe_prefill
// routes over all of them; another rank's expert gets zero rows from both projections, so it
// adds nothing to the combine.
void prefill(const Context& ctx, const Tensor& x, const QuantMoeWeights& w, int64_t e0,
             int64_t local, const Tensor& out) {
  const int64_t n = x.dim(0), E = w.E, D = w.D, F = w.F, na = 2 * n;
  const auto held = [&](int64_t e) { return e >= e0 && e < e0 + local; };
  const auto zero = [&](const Tensor& y) {
    MVL_CUDA_CHECK(cudaMemsetAsync(y.data(), 0, y.nbytes(), ctx.stream()));
  };
  // Prefill. fp8 weights where cuBLASLt runs FP8 GEMMs with per-token scales (asked once per
  // context, fp8_gemm_available): all gathered activation rows (x, then the SwiGLU output h)
  // quantized per row to e4m3 in one launch each (quantize_rows_fp8_grouped, from moe_prefill's
  // rows hook), then each expert's GEMM on the FP8 tensor cores back to back, nothing launched
  // between them. Otherwise, and for any shape without an FP8 algorithm, each active expert's
  // weights dequantized to bf16 right before a bf16 GEMM (one reused buffer per projection).
  Tensor b13, b2;
  // e: the global expert index (held); its matrices are the held experts' (e - e0)-th.
  const auto bf16_gate_up = [&](int64_t e, const Tensor& xe, const Tensor& ye) {
    if (!b13.defined()) b13 = empty({2 * F, D}, DType::bf16, ctx);
    dequantize_bf16(ctx, w.w13, (e - e0) * 2 * F, 2 * F, b13.data());
    gemm_raw(ctx, xe.data(), b13.data(), ye.data(), true, xe.dim(0), D, 2 * F);
  };
  const auto bf16_down = [&](int64_t e, const Tensor& he, const Tensor& ye) {
    if (!b2.defined()) b2 = empty({D, F}, DType::bf16, ctx);
    dequantize_bf16(ctx, w.w2, (e - e0) * D, D, b2.data());
    gemm_raw(ctx, he.data(), b2.data(), ye.data(), true, he.dim(0), F, D);
  };
  // fp8_gemm's shape rules (in % 16, out % 8) for both projections.
  if (w.w13.format != WeightFormat::fp8_e4m3 || D % 16 != 0 || F % 16 != 0 ||
      !fp8_gemm_available(ctx)) {
    moe_prefill(
        ctx, x, w.router, F,
        [&](int64_t e, const Tensor& xe, const Tensor& ye) {
          held(e) ? bf16_gate_up(e, xe, ye) : zero(ye);
        },
        [&](int64_t e, const Tensor& he, const Tensor& ye) {
          held(e) ? bf16_down(e, he, ye) : zero(ye);
        },
        out);
    return;
  }
  // e4m3 codes of every gathered row (row r at r * in, in = D for x, F for h) and the per-row
  // scales, 16-byte aligned per expert (quant_group_scale_start).
  const Tensor codes = empty({na * std::max(D, F)}, DType::u8, ctx);
  const Tensor scales = empty({na + 3 * E + 4}, DType::f32, ctx);
  auto* cq = static_cast<uint8_t*>(codes.data());
  auto* sq = static_cast<float*>(scales.data());
  const char* rows_base = nullptr;  // the rows the hook quantized last (xs, then h)
  const auto fp8_expert = [&](int64_t e, const Tensor& xe, const Tensor& ye, const QuantMatrix& m,
                              int64_t in, int64_t out_rows) {
    const int64_t b = (static_cast<const char*>(xe.data()) - rows_base) / (in * 2);
    return fp8_gemm(ctx, cq + b * in, sq + quant_group_scale_start(b, e),
                    m.codes + (e - e0) * out_rows * in, m.scales + (e - e0) * out_rows, ye.data(),
                    xe.dim(0), in, out_rows);
  };
  moe_prefill(
      ctx, x, w.router, F,
      [&](int64_t e, const Tensor& xe, const Tensor& ye) {
        if (!held(e))
          zero(ye);
        else if (!fp8_expert(e, xe, ye, w.w13, D, 2 * F))
          bf16_gate_up(e, xe, ye);
      },
      [&](int64_t e, const Tensor& he, const Tensor& ye) {
        if (!held(e))
          zero(ye);
        else if (!fp8_expert(e, he, ye, w.w2, F, D))
          bf16_down(e, he, ye);
      },
      out,
      [&](const Tensor& rows, const int32_t* offsets) {
        rows_base = static_cast<const char*>(rows.data());
        quantize_rows_fp8_grouped(ctx, rows, offsets, E, cq, sq);
      });
}

}  // namespace

}  // namespace mvl::cuda
