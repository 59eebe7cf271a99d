// The CPU reference of weight-only quantization (issue 17; formats in
// kernels/core/quant_format.h): quantize a [rows, in] matrix (rows = output channels, the
// input axis innermost) into codes + scales (+ zero points), dequantize back to f32, and the
// quantized linear, which is exactly cpu::linear on the dequantized f32 weights (so a GPU
// kernel is checked against the dequant math, not against bf16).
//   int8      s = max|w| / 127 per row, q = clamp(rint(w / s), -127, 127), w' = s * q
//   fp8_e4m3  s = max|w| / 448 per row, q = e4m3(w / s) (round to nearest even), w' = s * f32(q)
//   int4      per row and group of 128 inputs: lo = min(w, 0), hi = max(w, 0), s = (hi - lo) / 15,
//             z = rint(-lo / s), q = clamp(rint(w / s) + z, 0, 15), w' = s * (q - z); codes
//             packed two a byte, input k in byte k / 2, the low nibble for even k; each row
//             starts on a byte (ceil(in / 2) bytes a row)
// An all-zero row (or group) gets s = 0 and codes 0. rint rounds half to even.
#pragma once

#include <cstdint>

#include "kernels/core/dtype.h"
#include "kernels/core/quant_format.h"

namespace mvl::cpu {

// A quantized weight's format and side tables, as the CPU ops take them (plain = none).
struct QuantView {
  WeightFormat format = WeightFormat::plain;
  const float* scales = nullptr;
  const float* zeros = nullptr;
};

// Bytes of codes per row, and scale (and zero) entries per row, for format f.
int64_t quant_code_bytes_per_row(WeightFormat f, int64_t in);
int64_t quant_scales_per_row(WeightFormat f, int64_t in);

// w (w_dtype f32|bf16|f16) [rows, in] -> codes [rows, quant_code_bytes_per_row],
// scales f32 [rows, quant_scales_per_row], zeros f32 (int4 only; null otherwise) alike.
void quantize(WeightFormat f, const void* w, DType w_dtype, int64_t rows, int64_t in,
              uint8_t* codes, float* scales, float* zeros);

// The inverse: rows [row0, row1) of the matrix into out f32 [row1 - row0, in].
void dequantize(WeightFormat f, const uint8_t* codes, const float* scales, const float* zeros,
                int64_t in, int64_t row0, int64_t row1, float* out);

// out[i, o] = sum_k x[i, k] * w'[o, k] (+ b[o]): the dequantized weights through cpu::linear,
// bit for bit, a block of rows at a time (no f32 copy of the whole matrix).
void linear_quantized(const float* x, WeightFormat f, const uint8_t* codes, const float* scales,
                      const float* zeros, const void* bias, DType b_dtype, float* out, int64_t n,
                      int64_t in, int64_t out_features);

// The FP8 prefill GEMM (cuda::fp8_gemm / fp8_linear): out[i, o] = sum_k x'[i, k] * w'[o, k]
// with x's rows quantized as the GPU does before its FP8 GEMM (quantize() in fp8_e4m3 on each
// row: s_i = max_k |x[i, k]| / 448, e4m3(x / s_i) rounded to nearest even, saturating at
// +-448; x'[i, k] = s_i * f32(code)), then linear_quantized on the dequantized operands (f32
// accumulation). w: fp8_e4m3 codes [out_features, in] + per-row scales.
void linear_fp8_activations(const float* x, const uint8_t* codes, const float* scales, float* out,
                            int64_t n, int64_t in, int64_t out_features);

}  // namespace mvl::cpu
