// LayerNorm on CUDA (the ViT's): bf16 activations with f32 statistics, and the f32 generic form
// with f64 statistics like the CPU reference. CPU twin: kernels/cpu/layer_norm.h; dispatch:
// kernels/ops/layer_norm.h. All enqueue on ctx.stream() and never synchronise.
#pragma once

#include <cstdint>

#include "kernels/core/tensor.h"
#include "kernels/cuda/context.h"

namespace mvl::cuda {

// y = (x - mean)/sqrt(var + eps) · w + b per row, f32 statistics. bf16 [n, D]; w, b bf16 [D].
void layer_norm(const Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b, float eps,
                const Tensor& y);

// x, y: f32 [rows, D] contiguous; w, b: f32|bf16 [D] contiguous. Mean and biased variance
// in f64 like the CPU reference: y = (x - mean) * rsqrt(var + eps) * w + b.
void layer_norm_f32(const Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b,
                    float eps, const Tensor& y);

}  // namespace mvl::cuda
