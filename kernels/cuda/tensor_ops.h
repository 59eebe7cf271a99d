// Elementwise tensor ops on CUDA: bf16 add / mul / axpby with PyTorch's bf16 roundings, f32
// mul / axpby, dtype conversion, strided copies, an i32 ramp (RoPE positions without a host
// copy, so a decode step stays sync-free) and the row argmax of greedy decoding. CPU twins:
// kernels/cpu/tensor_ops.h, cpu::argmax; dispatch: kernels/ops/tensor_ops.h. All enqueue on
// ctx.stream() and never synchronise.
#pragma once

#include <cstdint>

#include "kernels/core/tensor.h"
#include "kernels/cuda/context.h"

namespace mvl::cuda {

// c = a + b (bf16, same shape, contiguous); c may alias a or b.
void add(const Context& ctx, const Tensor& a, const Tensor& b, const Tensor& c);

// c = bf16(a * b); a, b, c bf16 contiguous, same numel (c may alias a or b).
void mul_bf16(const Context& ctx, const Tensor& a, const Tensor& b, const Tensor& c);

// out = bf16(bf16(alpha*a) + bf16(beta*b)) (PyTorch: two tensor x scalar ops, then add; a
// coefficient of exactly 1 is no rounding at all). b undefined: out = bf16(alpha*a).
// bf16 contiguous, same numel.
void axpby_bf16(const Context& ctx, const Tensor& a, float alpha, const Tensor& b, float beta,
                const Tensor& out);

// out = alpha*a + beta*b (b may be undefined: out = alpha*a). f32 contiguous.
void axpby_f32(const Context& ctx, const Tensor& a, float alpha, const Tensor& b, float beta,
               const Tensor& out);

// out = a * b; f32 contiguous, same numel.
void mul_f32(const Context& ctx, const Tensor& a, const Tensor& b, const Tensor& out);

// out[i] = start + i; out i32 [n] contiguous on the device.
void iota_i32(const Context& ctx, int64_t start, const Tensor& out);

// y = x converted (f32 <-> bf16, or copy), same shape, contiguous.
void convert(const Context& ctx, const Tensor& x, const Tensor& y);

// dst = src elementwise (same shape/dtype, 2- or 4-byte elements, up to 4 dims, any strides).
void copy_strided(const Context& ctx, const Tensor& dst, const Tensor& src);

// out[i] = argmax_j logits[i, j] (f32 or bf16 [n, V]; lowest index wins ties; NaN never wins).
// nonfinite (optional, i32 [n]): 1 where row i holds a NaN or +Inf, else 0 (same pass).
void argmax(const Context& ctx, const Tensor& logits, const Tensor& out,
            const Tensor& nonfinite = {});

}  // namespace mvl::cuda
