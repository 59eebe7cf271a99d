// Rotary position embedding on CUDA (partial NeoX): bf16 in place, and the f32 generic form.
// CPU twin: kernels/cpu/rope.h; dispatch: kernels/ops/rope.h. All enqueue on ctx.stream().
#pragma once

#include <cstdint>

#include "kernels/core/tensor.h"
#include "kernels/cuda/context.h"

namespace mvl::cuda {

// Partial NeoX RoPE in place on x: bf16 [n, H, d] (contiguous last dim, any token/head
// strides): for i < rot/2, (x_i, x_{i+rot/2}) rotated by pos·theta^(-2i/rot); dims >= rot
// untouched. positions: i32 [n] on the device. Angles and the rotation in f32.
void rope_partial(const Context& ctx, const Tensor& x, const Tensor& positions, int rotary_dim,
                  float theta);

// x f32 [n, H, d] (contiguous last dim) -> out f32 [n, H, d] contiguous; rotary_dim <= 128.
// Token t sits at pos0 + t, or at positions[t] when positions (i32 [n] on the device) is given.
void rope_f32(const Context& ctx, const Tensor& x, int64_t pos0, int64_t rotary_dim, double theta,
              const Tensor& out, const Tensor& positions = Tensor());

}  // namespace mvl::cuda
