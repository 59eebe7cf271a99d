// Weight-only quantized matrices on CUDA (quant.h). Algorithms:
//   quant_gemv: a warp per output row; each lane streams 16-byte code chunks (16 int8/fp8 or 32
//     int4 weights; 4 chunks in flight), dequantizes them in registers (int8: PRMT into
//     0x4B000000 then one FADD; fp8: cvt e4m3x2 -> half2 -> f32; int4: LOP3 + one FFMA, exact;
//     quant.cuh) and dots them with up to 8 tokens' bf16/f32 activations read through L1 (n = 1
//     runs a one-token instance: one accumulator); int4 applies the group scale per chunk (a
//     chunk never crosses a group of 128), int8/fp8 the row scale once at the end; warp sum,
//     one rounding. No shared memory; 8 warps (8 rows) a CTA, grid (rows/8, tokens/TOK).
//   dequantize_bf16: a thread per 8 outputs, the f32 dequant math of the CPU reference exactly,
//     then one bf16 rounding. quantize_rows: a CTA per row (amax by block reduction; int4 a warp
//     per group).
// CPU reference: kernels/cpu/quant.cpp (cpu::dequantize, cpu::linear_quantized); tests:
// tests/gpu/quant_cuda_test.cpp.
#include "kernels/cuda/quant.h"

#include <type_traits>

#include "kernels/core/error.h"
#include "kernels/cuda/check.cuh"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/linear.h"
#include "kernels/cuda/quant.cuh"
#include "kernels/cuda/storage.h"

namespace mvl::cuda {

using namespace dev;
using namespace qdev;

int64_t quant_row_bytes(WeightFormat f, int64_t in) {
  return f == WeightFormat::int4 ? (in + 1) / 2 : in;
}
int64_t quant_row_scales(WeightFormat f, int64_t in) {
  return f == WeightFormat::int4 ? (in + kInt4GroupSize - 1) / kInt4GroupSize : 1;
}

QuantMatrix quant_matrix(const Tensor& w) {
  const QuantParams* p = w.quant();
  MVL_CHECK(p && p->format != WeightFormat::plain && w.device().is_cuda() &&
                p->scales.device().is_cuda() && w.ndim() >= 1,
            invalid_argument, "cuda::quant_matrix: {} is not a quantized device matrix", w.str());
  QuantMatrix m;
  m.format = p->format;
  m.in = w.dim(-1);
  m.rows = w.numel() / std::max<int64_t>(m.in, 1);
  m.codes = static_cast<const uint8_t*>(w.data());
  m.scales = p->scales.data<float>();
  m.zeros = p->zeros.defined() ? p->zeros.data<float>() : nullptr;
  MVL_CHECK(p->scales.numel() == m.rows * quant_row_scales(m.format, m.in) &&
                (m.format != WeightFormat::int4 || m.zeros),
            shape_mismatch, "cuda::quant_matrix: scales {} do not fit {}", p->scales.str(),
            w.str());
  return m;
}

namespace {

constexpr int kGemvWarps = 8;
constexpr int kGemvTok = 8;  // tokens per pass for n > 1 (n = 1 runs 1: one accumulator)
constexpr int kGemvUnroll = 4;

template <int F, typename XT, typename YT, int TOK>
__global__ void __launch_bounds__(kGemvWarps * 32)
    quant_gemv_kernel(const XT* __restrict__ x, const uint8_t* __restrict__ codes,
                      const float* __restrict__ scales, const float* __restrict__ zeros,
                      YT* __restrict__ y, int n, int64_t rows, int in) {
  constexpr int E = chunk_elems<F>();
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int64_t row = int64_t(blockIdx.x) * kGemvWarps + warp;
  if (row >= rows) return;
  const int t0 = blockIdx.y * TOK, nt = min(TOK, n - t0);
  const int chunks = in / E;
  const int64_t cb = F == kI4 ? in / 2 : in;
  const int sr = F == kI4 ? (in + kInt4GroupSize - 1) / kInt4GroupSize : 1;
  const int4* wr = reinterpret_cast<const int4*>(codes + row * cb);
  float acc[TOK] = {};
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
        for (int tt = 0; tt < TOK; ++tt) {
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
  for (int tt = 0; tt < TOK; ++tt) {
    if (tt < nt) {
      const float v = warp_sum(acc[tt]);
      if (lane == 0) store(y + int64_t(t0 + tt) * rows + row, v * rs);
    }
  }
}

template <int F, typename OT>
__global__ void dequant_kernel(const uint8_t* __restrict__ codes, const float* __restrict__ scales,
                               const float* __restrict__ zeros, int64_t row0, int64_t rows,
                               int64_t in, OT* __restrict__ out) {
  const int64_t cb = F == kI4 ? (in + 1) / 2 : in;
  const int64_t sr = F == kI4 ? (in + kInt4GroupSize - 1) / kInt4GroupSize : 1;
  const int64_t total = rows * in;
  if (in % 8 == 0) {
    const int64_t i8 = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) * 8;
    if (i8 >= total) return;
    const int64_t r = i8 / in, k0 = i8 % in;
    float f[8];
#pragma unroll
    for (int j = 0; j < 8; ++j) f[j] = deq_one<F>(codes, scales, zeros, row0 + r, k0 + j, cb, sr);
    if constexpr (sizeof(OT) == 2) {
      *reinterpret_cast<int4*>(out + i8) = pack8(f);
    } else {
      reinterpret_cast<float4*>(out + i8)[0] = make_float4(f[0], f[1], f[2], f[3]);
      reinterpret_cast<float4*>(out + i8)[1] = make_float4(f[4], f[5], f[6], f[7]);
    }
    return;
  }
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x)
    store(out + i, deq_one<F>(codes, scales, zeros, row0 + i / in, i % in, cb, sr));
}

template <int F, typename WT>
__global__ void __launch_bounds__(256)
    quantize_rows_kernel(const WT* __restrict__ w, int64_t in, uint8_t* __restrict__ codes,
                         float* __restrict__ scales, float* __restrict__ zeros) {
  __shared__ float red[32];
  const int64_t r = blockIdx.x;
  const WT* wr = w + r * in;
  auto ld = [&](int64_t k) {
    if constexpr (sizeof(WT) == 2)
      return to_f(wr[k]);
    else
      return wr[k];
  };
  if constexpr (F == kI4) {
    const int64_t cb = (in + 1) / 2, sr = (in + kInt4GroupSize - 1) / kInt4GroupSize;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    for (int64_t g = warp; g < sr; g += nw) {
      const int64_t k0 = g * kInt4GroupSize + lane * 4;
      float v[4], lo = 0.f, hi = 0.f;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        v[j] = k0 + j < in ? ld(k0 + j) : 0.f;
        lo = fminf(lo, v[j]);
        hi = fmaxf(hi, v[j]);
      }
      lo = -warp_max(-lo);
      hi = warp_max(hi);
      const float s = __fdiv_rn(hi - lo, 15.0f);
      const float z = s > 0 ? fminf(fmaxf(rintf(__fdiv_rn(-lo, s)), 0.f), 15.f) : 0.f;
      if (lane == 0) {
        scales[r * sr + g] = s;
        zeros[r * sr + g] = z;
      }
      uint8_t q[4];
#pragma unroll
      for (int j = 0; j < 4; ++j)
        q[j] = s > 0 ? static_cast<uint8_t>(fminf(fmaxf(rintf(__fdiv_rn(v[j], s)) + z, 0.f), 15.f))
                     : 0;
      if (k0 < in) codes[r * cb + k0 / 2] = q[0] | (k0 + 1 < in ? q[1] << 4 : 0);
      if (k0 + 2 < in) codes[r * cb + k0 / 2 + 1] = q[2] | (k0 + 3 < in ? q[3] << 4 : 0);
    }
    return;
  } else {
    float amax = 0.f;
    for (int64_t k = threadIdx.x; k < in; k += blockDim.x) amax = fmaxf(amax, fabsf(ld(k)));
    amax = block_max_seq(amax, red);
    const float s = __fdiv_rn(amax, F == kI8 ? 127.0f : 448.0f);
    if (threadIdx.x == 0) scales[r] = s;
    for (int64_t k = threadIdx.x; k < in; k += blockDim.x) {
      const float v = s > 0 ? __fdiv_rn(ld(k), s) : 0.f;
      if constexpr (F == kI8)
        codes[r * in + k] =
            static_cast<uint8_t>(static_cast<int8_t>(fminf(fmaxf(rintf(v), -127.f), 127.f)));
      else
        codes[r * in + k] = __nv_cvt_float_to_fp8(v, __NV_SATFINITE, __NV_E4M3);
    }
  }
}

// quantize_rows' fp8 math on bf16 rows, a CTA per row, group e's scales from
// quant_group_scale_start (quant.h).
__global__ void __launch_bounds__(256)
    quantize_rows_fp8_grouped_kernel(const bf16* __restrict__ x, int64_t in,
                                     const int32_t* __restrict__ offsets, int E,
                                     uint8_t* __restrict__ codes, float* __restrict__ scales) {
  __shared__ float red[32];
  const int64_t r = blockIdx.x;
  int e = 0;
  while (e < E - 1 && offsets[e + 1] <= r) ++e;
  const bf16* xr = x + r * in;
  float amax = 0.f;
  for (int64_t k = threadIdx.x; k < in; k += blockDim.x) amax = fmaxf(amax, fabsf(to_f(xr[k])));
  amax = block_max_seq(amax, red);
  const float s = __fdiv_rn(amax, 448.0f);
  if (threadIdx.x == 0) scales[quant_group_scale_start(offsets[e], e) + (r - offsets[e])] = s;
  for (int64_t k = threadIdx.x; k < in; k += blockDim.x) {
    const float v = s > 0 ? __fdiv_rn(to_f(xr[k]), s) : 0.f;
    codes[r * in + k] = __nv_cvt_float_to_fp8(v, __NV_SATFINITE, __NV_E4M3);
  }
}

template <int TOK, typename XT, typename YT>
void launch_gemv_tok(const Context& ctx, const XT* x, const QuantMatrix& w, YT* y, int n) {
  const dim3 grid(static_cast<unsigned>((w.rows + kGemvWarps - 1) / kGemvWarps),
                  static_cast<unsigned>((n + TOK - 1) / TOK));
  const int in = static_cast<int>(w.in);
  switch (w.format) {
    case WeightFormat::int8:
      quant_gemv_kernel<kI8, XT, YT, TOK><<<grid, kGemvWarps * 32, 0, ctx.stream()>>>(
          x, w.codes, w.scales, w.zeros, y, n, w.rows, in);
      break;
    case WeightFormat::fp8_e4m3:
      quant_gemv_kernel<kF8, XT, YT, TOK><<<grid, kGemvWarps * 32, 0, ctx.stream()>>>(
          x, w.codes, w.scales, w.zeros, y, n, w.rows, in);
      break;
    case WeightFormat::int4:
      quant_gemv_kernel<kI4, XT, YT, TOK><<<grid, kGemvWarps * 32, 0, ctx.stream()>>>(
          x, w.codes, w.scales, w.zeros, y, n, w.rows, in);
      break;
    case WeightFormat::plain:
      break;
  }
  MVL_CUDA_CHECK_LAUNCH();
}

template <typename XT, typename YT>
void launch_gemv(const Context& ctx, const XT* x, const QuantMatrix& w, YT* y, int n) {
  if (n == 1)
    launch_gemv_tok<1>(ctx, x, w, y, n);
  else
    launch_gemv_tok<kGemvTok>(ctx, x, w, y, n);
}

bool aligned16(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0;
}

}  // namespace

void quantize_rows(const Context& ctx, const Tensor& w, WeightFormat f, uint8_t* codes,
                   float* scales, float* zeros) {
  MVL_CHECK(w.device().is_cuda() && w.is_contiguous() &&
                (w.dtype() == DType::bf16 || w.dtype() == DType::f32) && w.ndim() >= 1,
            invalid_argument,
            "cuda::quantize_rows: need a contiguous bf16|f32 device matrix, got {}", w.str());
  MVL_CHECK(f != WeightFormat::plain && (f != WeightFormat::int4 || zeros), invalid_argument,
            "cuda::quantize_rows: format {}", weight_format_name(f));
  const int64_t in = w.dim(-1), rows = w.numel() / std::max<int64_t>(in, 1);
  if (rows == 0) return;
  const auto grid = static_cast<unsigned>(rows);
  const bool b = w.dtype() == DType::bf16;
  auto go = [&](auto tag) {
    constexpr int F = decltype(tag)::value;
    if (b)
      quantize_rows_kernel<F, bf16><<<grid, 256, 0, ctx.stream()>>>(
          static_cast<const bf16*>(w.data()), in, codes, scales, zeros);
    else
      quantize_rows_kernel<F, float><<<grid, 256, 0, ctx.stream()>>>(
          static_cast<const float*>(w.data()), in, codes, scales, zeros);
  };
  if (f == WeightFormat::int8) go(std::integral_constant<int, kI8>{});
  if (f == WeightFormat::fp8_e4m3) go(std::integral_constant<int, kF8>{});
  if (f == WeightFormat::int4) go(std::integral_constant<int, kI4>{});
  MVL_CUDA_CHECK_LAUNCH();
}

void quantize_rows_fp8_grouped(const Context& ctx, const Tensor& x, const int32_t* offsets,
                               int64_t E, uint8_t* codes, float* scales) {
  MVL_CHECK(x.device().is_cuda() && x.is_contiguous() && x.dtype() == DType::bf16 &&
                x.ndim() == 2 && E >= 1 && offsets && codes && scales,
            invalid_argument,
            "cuda::quantize_rows_fp8_grouped: need contiguous bf16 device rows [n, in] and {} "
            "group offsets, got {}",
            E, x.str());
  if (x.dim(0) == 0) return;
  quantize_rows_fp8_grouped_kernel<<<static_cast<unsigned>(x.dim(0)), 256, 0, ctx.stream()>>>(
      static_cast<const bf16*>(x.data()), x.dim(1), offsets, static_cast<int>(E), codes, scales);
  MVL_CUDA_CHECK_LAUNCH();
}

namespace {
template <typename OT>
void launch_dequant(const Context& ctx, const QuantMatrix& w, int64_t row0, int64_t rows, OT* o) {
  MVL_CHECK(row0 >= 0 && rows >= 0 && row0 + rows <= w.rows, invalid_argument,
            "cuda::dequantize: rows [{}, {}) of {}", row0, row0 + rows, w.rows);
  const int64_t total = rows * w.in;
  if (total == 0) return;
  const unsigned blocks = w.in % 8 == 0 ? static_cast<unsigned>((total / 8 + 255) / 256)
                                        : static_cast<unsigned>(host::blocks_for(total, 256));
  switch (w.format) {
    case WeightFormat::int8:
      dequant_kernel<kI8, OT>
          <<<blocks, 256, 0, ctx.stream()>>>(w.codes, w.scales, w.zeros, row0, rows, w.in, o);
      break;
    case WeightFormat::fp8_e4m3:
      dequant_kernel<kF8, OT>
          <<<blocks, 256, 0, ctx.stream()>>>(w.codes, w.scales, w.zeros, row0, rows, w.in, o);
      break;
    case WeightFormat::int4:
      dequant_kernel<kI4, OT>
          <<<blocks, 256, 0, ctx.stream()>>>(w.codes, w.scales, w.zeros, row0, rows, w.in, o);
      break;
    case WeightFormat::plain:
      throw Error(ErrorCategory::invalid_argument, "cuda::dequantize: a plain matrix");
  }
  MVL_CUDA_CHECK_LAUNCH();
}
}  // namespace

void dequantize_bf16(const Context& ctx, const QuantMatrix& w, int64_t row0, int64_t rows,
                     void* out) {
  launch_dequant(ctx, w, row0, rows, static_cast<bf16*>(out));
}

void dequantize_f32(const Context& ctx, const QuantMatrix& w, int64_t row0, int64_t rows,
                    float* out) {
  launch_dequant(ctx, w, row0, rows, out);
}

bool quant_gemv_supported(const QuantMatrix& w) {
  const int64_t e = w.format == WeightFormat::int4 ? 32 : 16;
  return w.format != WeightFormat::plain && w.in % e == 0 && w.in < (int64_t{1} << 30) &&
         aligned16(w.codes);
}

void quant_gemv(const Context& ctx, const Tensor& x, const QuantMatrix& w, const Tensor& y) {
  const int64_t n = x.numel() / std::max<int64_t>(w.in, 1);
  MVL_CHECK(x.device().is_cuda() && y.device().is_cuda() && x.is_contiguous() &&
                y.is_contiguous() && x.dim(-1) == w.in && y.numel() == n * w.rows &&
                (x.dtype() == DType::bf16 || x.dtype() == DType::f32) &&
                (y.dtype() == DType::bf16 || y.dtype() == DType::f32),
            shape_mismatch, "cuda::quant_gemv: x {} y {} for a [{}, {}] weight", x.str(), y.str(),
            w.rows, w.in);
  MVL_CHECK(n <= kQuantGemvMaxTokens && quant_gemv_supported(w) && aligned16(x.data()), unsupported,
            "cuda::quant_gemv: {} tokens / in {} / alignment not supported", n, w.in);
  if (n == 0 || w.rows == 0) return;
  const int ni = static_cast<int>(n);
  if (x.dtype() == DType::bf16) {
    const auto* xp = static_cast<const bf16*>(x.data());
    if (y.dtype() == DType::bf16)
      launch_gemv(ctx, xp, w, static_cast<bf16*>(y.data()), ni);
    else
      launch_gemv(ctx, xp, w, static_cast<float*>(y.data()), ni);
  } else {
    const auto* xp = static_cast<const float*>(x.data());
    if (y.dtype() == DType::bf16)
      launch_gemv(ctx, xp, w, static_cast<bf16*>(y.data()), ni);
    else
      launch_gemv(ctx, xp, w, static_cast<float*>(y.data()), ni);
  }
}

void quant_linear(const Context& ctx, const Tensor& x, const QuantMatrix& w, const Tensor& y) {
  const int64_t n = x.numel() / std::max<int64_t>(w.in, 1);
  if (n <= kQuantGemvMaxTokens && quant_gemv_supported(w) && aligned16(x.data())) {
    quant_gemv(ctx, x, w, y);
    return;
  }
  MVL_CHECK(x.is_contiguous() && y.is_contiguous() && y.numel() == n * w.rows, shape_mismatch,
            "cuda::quant_linear: x {} y {} for a [{}, {}] weight", x.str(), y.str(), w.rows, w.in);
  // Prefill: the whole matrix dequantized once (stream-ordered pool memory; bf16 for bf16
  // activations, f32 for f32 ones), then the plain GEMM. The temporary is freed on the stream
  // after the GEMM has been enqueued.
  const bool bf = x.dtype() == DType::bf16;
  const Tensor wb = empty({w.rows, w.in}, bf ? DType::bf16 : DType::f32, ctx);
  if (bf)
    dequantize_bf16(ctx, w, 0, w.rows, wb.data());
  else
    dequantize_f32(ctx, w, 0, w.rows, wb.data<float>());
  if (bf) {
    MVL_CHECK(w.in % 8 == 0 && w.rows % 8 == 0, unsupported,
              "cuda::quant_linear: bf16 activations need in and out multiples of 8 (got [{}, {}])",
              w.rows, w.in);
    gemm_raw(ctx, x.data(), wb.data(), y.data(), y.dtype() == DType::bf16, n, w.in, w.rows);
    return;
  }
  MVL_CHECK(y.dtype() == DType::f32, unsupported, "cuda::quant_linear: f32 x needs f32 y");
  linear_f32(ctx, x.view({n, w.in}), wb, y.view({n, w.rows}));
}

}  // namespace mvl::cuda
