// Plain CPU linear: out[i, o] = sum_k x[i, k] * w[o, k] (+ b[o]), f32 accumulation,
// multithreaded over rows of W. The reference every GEMM kernel is checked against.
#pragma once

#include <cstdint>

#include "kernels/core/dtype.h"

namespace mvl::cpu {

// x f32 [n, in], w (w_dtype) [out, in], bias (b_dtype) [out] or null, out f32 [n, out].
void linear(const float* x, const void* w, DType w_dtype, const void* bias, DType b_dtype,
            float* out, int64_t n, int64_t in, int64_t out_features);

}  // namespace mvl::cpu
