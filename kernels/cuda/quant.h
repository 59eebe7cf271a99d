// Weight-only quantized matrices on CUDA (issue 17; formats in kernels/core/quant_format.h,
// CPU twin kernels/cpu/quant.h): device quantization (random weights for benchmarks),
// dequantization to bf16 (the prefill path: tiles of bf16 into the cuBLASLt GEMMs), and the
// decode GEMV for n <= 64 tokens that reads the codes once per 8 tokens (bf16 or f32
// activations, f32 accumulation, one rounding of the output). All enqueue on ctx.stream().
#pragma once

#include <cstdint>

#include "kernels/core/quant_format.h"
#include "kernels/core/tensor.h"
#include "kernels/cuda/context.h"

namespace mvl::cuda {

// A device quantized matrix: `rows` output channels of `in` inputs (row r's codes at
// codes + r * code_bytes_per_row, its scales (and zeros) at r * scales_per_row).
struct QuantMatrix {
  WeightFormat format = WeightFormat::plain;
  const uint8_t* codes = nullptr;
  const float* scales = nullptr;
  const float* zeros = nullptr;  // int4 only
  int64_t rows = 0, in = 0;
};
// The matrix behind a device tensor with quant() set (logical shape [..., in]; rows = the
// product of the other axes). Throws Error{invalid_argument} for a plain or host tensor.
QuantMatrix quant_matrix(const Tensor& w);

int64_t quant_row_bytes(WeightFormat f, int64_t in);   // bytes of codes per row
int64_t quant_row_scales(WeightFormat f, int64_t in);  // scales (and zeros) per row

// codes/scales/zeros (device buffers sized as quant_row_bytes / quant_row_scales say) of the
// rows of w (device bf16|f32 [rows, in] contiguous) in format f: cpu::quantize's math (amax
// scales, round half to even; int4 groups of 128 with zero points).
void quantize_rows(const Context& ctx, const Tensor& w, WeightFormat f, uint8_t* codes,
                   float* scales, float* zeros);

// quantize_rows' per-row e4m3 math (fp8 activations of the FP8 prefill GEMMs) for the gathered
// rows of a grouped GEMM in one launch: x bf16 [n, in] contiguous, rows [offsets[e],
// offsets[e + 1]) form group e (offsets: device, E + 1 entries, offsets[E] = n). Row r's codes at
// codes + r * in, as quantize_rows; group e's scales start at quant_group_scale_start(offsets[e],
// e), a multiple of 4 floats (each group's scale vector 16-byte aligned for cuBLASLt), so scales
// needs n + 3 * E floats.
constexpr int64_t quant_group_scale_start(int64_t row0, int64_t e) {
  return (row0 + 3 * e + 3) / 4 * 4;
}
void quantize_rows_fp8_grouped(const Context& ctx, const Tensor& x, const int32_t* offsets,
                               int64_t E, uint8_t* codes, float* scales);

// out (device bf16, row-major [rows, in]) = the dequantized rows [row0, row0 + rows) of w.
void dequantize_bf16(const Context& ctx, const QuantMatrix& w, int64_t row0, int64_t rows,
                     void* out);
// The same in f32: exactly the CPU reference's dequantized values.
void dequantize_f32(const Context& ctx, const QuantMatrix& w, int64_t row0, int64_t rows,
                    float* out);

constexpr int64_t kQuantGemvMaxTokens = 64;
// True when quant_gemv takes w (16-byte aligned rows of whole 16-byte code chunks).
bool quant_gemv_supported(const QuantMatrix& w);
// y[t, o] = sum_k x[t, k] * w'[o, k] for t < n <= kQuantGemvMaxTokens; x bf16|f32 [n, in]
// contiguous, y bf16|f32 [n, rows] contiguous (f32 accumulation, rounded once to y's dtype).
// A warp per output row, 16-byte code loads, 4 chunks in flight per lane, up to 8 tokens per
// pass (more tokens take more passes over the row, from L2).
void quant_gemv(const Context& ctx, const Tensor& x, const QuantMatrix& w, const Tensor& y);

// Any n: quant_gemv for n <= 64 when supported, else the rows are dequantized to bf16 in
// chunks and multiplied by cuBLASLt (bf16 x) or the f32 kernel (f32 x).
void quant_linear(const Context& ctx, const Tensor& x, const QuantMatrix& w, const Tensor& y);

// The MoE block with quantized experts (quant_moe.cu): top-2 routing exactly as moe_forward,
// expert weights as two stacked quantized matrices.
struct QuantMoeWeights {
  Tensor router;    // bf16 [E, D]
  QuantMatrix w13;  // E * 2F rows of D inputs: expert e's gate rows [e*2F, e*2F + F), up rows next
  QuantMatrix w2;   // E * D rows of F inputs
  int64_t E = 0, D = 0, F = 0;
};
// True when quant_moe_forward takes w (2 <= E <= 32, one format, 16-byte code chunks).
bool quant_moe_supported(const QuantMoeWeights& w);
// out: bf16 [n, D] = MoE(x), x bf16 [n, D]. n <= kMoeDecodeMaxTokens: the grouped decode
// kernels (no host sync, graph-capturable); larger n: moe.cu's prefill with each active
// expert dequantized to bf16 before its GEMM, or for fp8 experts, FP8 GEMMs on per-token e4m3
// activations where cuBLASLt has them (fp8_gemm.h; the bf16 path otherwise).
void quant_moe_forward(const Context& ctx, const Tensor& x, const QuantMoeWeights& w,
                       const Tensor& out);

// One rank's share of that block under expert parallelism (llm/parallel): every token is
// routed over all `w.E` experts with the full router, exactly as quant_moe_forward routes it,
// but only experts [expert0, expert0 + local) run, from w13/w2 holding just those `local`
// experts; the others add nothing. out: bf16 [n, D] = the rank's partial sum (one bf16
// rounding of its experts' f32 sum; the ranks' partials add up to quant_moe_forward's output
// up to that rounding). Decode (n <= 64): the same grouped kernels on the routing's per-expert
// lists narrowed to the held experts (a one-CTA kernel); prefill: moe_prefill with the other
// experts' rows zeroed. CPU reference: cpu::moe_experts with the other experts' ids -1 (what
// ops::moe_experts does for an EP rank); test: tests/llm/sharded_quant_cuda_test.cpp.
struct QuantMoeRange {
  QuantMoeWeights w;    // router bf16 [E, D] (all experts); w13 / w2 of the held experts only,
                        // i.e. rows local * 2F and local * D (w.E is the total expert count)
  int64_t expert0 = 0;  // the first held expert
  int64_t local = 0;    // how many are held
};
// True when quant_moe_range_forward takes r (quant_moe_supported's rules at E total experts).
bool quant_moe_range_supported(const QuantMoeRange& r);
void quant_moe_range_forward(const Context& ctx, const Tensor& x, const QuantMoeRange& r,
                             const Tensor& out);

}  // namespace mvl::cuda
