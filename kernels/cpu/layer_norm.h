// Plain CPU LayerNorm over rows: mean and biased variance accumulated in double (two passes),
// normalised value and affine in f32. The reference the CUDA LayerNorm is checked against.
#pragma once

#include <cstdint>

#include "kernels/core/dtype.h"

namespace mvl::cpu {

// x, out: f32 [rows, d] contiguous; weight/bias: (w_dtype/b_dtype) [d].
void layer_norm(const float* x, const void* weight, DType w_dtype, const void* bias, DType b_dtype, float* out,
                int64_t rows, int64_t d, float eps);

}  // namespace mvl::cpu
