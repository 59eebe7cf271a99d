// FP8 tensor-core GEMMs on CUDA through cuBLASLt (issue 17: the fp8 prefill): e4m3 activations
// quantized per row (token) with an f32 scale each, e4m3 weights with their per-output-channel
// f32 scales, f32 accumulation, one bf16 rounding of the output; cuBLASLt applies both scale
// vectors in its epilogue (CUBLASLT_MATMUL_MATRIX_SCALE_OUTER_VEC_32F, cuBLAS 12.9+ on Hopper).
// CPU twin: cpu::linear_fp8_activations (kernels/cpu/quant.h); test:
// tests/gpu/fp8_gemm_cuda_test.cpp. All enqueue on ctx.stream().
#pragma once

#include <cstdint>

#include "kernels/core/tensor.h"
#include "kernels/cuda/context.h"
#include "kernels/cuda/quant.h"

namespace mvl::cuda {

// True when this device's cuBLASLt runs fp8_gemm. Asked once per Context (a heuristic query and
// one small GEMM whose exact result is checked on the host: one host sync), then cached; the
// answer is logged once at info level. Never throws for an unsupported device or library.
bool fp8_gemm_available(const Context& ctx);

// y[n, out] = bf16(sx[t] * sw[o] * sum_k xq[t, k] * wq[o, k]): xq e4m3 codes [n, in]
// row-major, sx f32 [n], wq e4m3 codes [out, in] row-major, sw f32 [out], y bf16 [n, out]
// contiguous. Needs in % 16 == 0, out % 8 == 0 and 16-byte aligned xq, wq, y (cuBLASLt's FP8
// rules); n is free. Returns false, having enqueued nothing, when cuBLASLt has no algorithm for
// the shape (cached per shape, so it is asked once).
bool fp8_gemm(const Context& ctx, const uint8_t* xq, const float* sx, const uint8_t* wq,
              const float* sw, void* y, int64_t n, int64_t in, int64_t out);

// A buffer for the e4m3 copy of up to `rows` activation rows of up to `in` inputs.
struct Fp8Rows {
  Tensor codes;   // u8 [rows * in]
  Tensor scales;  // f32 [rows]
};
Fp8Rows fp8_rows(const Context& ctx, int64_t rows, int64_t in);

// y = x . w'[row0, row0 + rows)^T on the FP8 tensor cores, w fp8_e4m3: x (bf16 [n, w.in]
// contiguous) is quantized row by row into buf with quantize_rows' fp8 math (s = amax / 448,
// e4m3(x / s) rounded to nearest even, saturating at +-448), then fp8_gemm with w's
// per-channel scales; y bf16 [n, rows] contiguous. Returns false, having enqueued nothing, when
// the shape breaks fp8_gemm's rules (w.in % 16, rows % 8, 16-byte aligned codes and y) or
// cuBLASLt has no algorithm for it: the caller takes its bf16 path.
bool fp8_linear(const Context& ctx, const Tensor& x, const QuantMatrix& w, int64_t row0,
                int64_t rows, const Tensor& y, const Fp8Rows& buf);

}  // namespace mvl::cuda
