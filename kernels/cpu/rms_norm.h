// Plain CPU RMSNorm behind ops/rms_norm.h (one row per task, f32 sums).
#pragma once

#include <cstdint>

#include "kernels/core/dtype.h"

namespace mvl::cpu {

// x, out f32 [rows, d]; w [d] of dtype wt.
void rms_norm(const float* x, const void* w, DType wt, float* out, int64_t rows, int64_t d, float eps,
              bool bf16_order);

}  // namespace mvl::cpu
