// The few bf16 elementwise CUDA ops the ops:: bf16 activation path needs beyond the tuned
// ones in elementwise.h: mul, the DeepNorm-style axpby with PyTorch bf16 rounding, and a
// device-side position ramp for RoPE (no host copy, so a decode step stays sync-free).
// CPU twins: kernels/cpu/tensor_ops (mul, axpby in f32, then rounded); tests:
// tests/gpu/bf16_ops_test.cpp. All enqueue on ctx.stream() and never synchronise.
#pragma once

#include <cstdint>

#include "kernels/core/tensor.h"
#include "kernels/cuda/context.h"

namespace mvl::cuda {

// c = bf16(a * b); a, b, c bf16 contiguous, same numel (c may alias a or b).
void mul_bf16(const Context& ctx, const Tensor& a, const Tensor& b, const Tensor& c);
// out = bf16(bf16(alpha*a) + bf16(beta*b)) (PyTorch: two tensor x scalar ops, then add; a
// coefficient of exactly 1 is no rounding at all). b undefined: out = bf16(alpha*a).
// bf16 contiguous, same numel.
void axpby_bf16(const Context& ctx, const Tensor& a, float alpha, const Tensor& b, float beta,
                const Tensor& out);
// out[i] = start + i; out i32 [n] contiguous on the device.
void iota_i32(const Context& ctx, int64_t start, const Tensor& out);

}  // namespace mvl::cuda
