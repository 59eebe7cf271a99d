// Plain CPU loops behind ops/tensor_ops.h: strided copy and f32 elementwise kernels.
#pragma once

#include <cstdint>

#include "kernels/core/tensor.h"

namespace mvl::cpu {

// Copies src into dst (same shape and dtype, any strides on both).
void copy_strided(const Tensor& dst, const Tensor& src);
// Contiguous conversion of n elements from `src` (dtype s) to `dst` (dtype d).
void convert(const void* src, DType s, void* dst, DType d, int64_t n);
// out[i] = alpha * a[i] + beta * b[i] (b may be null: out = alpha * a).
void axpby(const float* a, float alpha, const float* b, float beta, float* out, int64_t n);
void mul(const float* a, const float* b, float* out, int64_t n);

}  // namespace mvl::cpu
