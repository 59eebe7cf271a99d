// Generic f32-activation CUDA kernels for the ops the CLIP ViT needs beyond the text model's
// (LayerNorm with bias, the patch-embedding im2col, a per-row bias add after a linear). They
// mirror the CPU reference (kernels/cpu/layer_norm.cpp, patch_embed.cpp, linear.cpp) so the
// same vision code gives the CPU's features on CUDA. All enqueue on ctx.stream().
#pragma once

#include <cstdint>

#include "kernels/core/tensor.h"
#include "kernels/cuda/context.h"

namespace mvl::cuda {

// x, y: f32 [rows, D] contiguous; w, b: f32|bf16 [D] contiguous. Mean and biased variance
// in f64 like the CPU reference: y = (x - mean) * rsqrt(var + eps) * w + b.
void layer_norm_f32(const Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b, float eps,
                    const Tensor& y);
// im2col: pixels f32 [T, C, S, S] contiguous -> cols f32 [T*(S/k)^2, C*k*k] contiguous,
// row = (t*g + py)*g + px, column = (c*k + ky)*k + kx (the conv weight's [C, k, k] order).
void patchify_f32(const Context& ctx, const Tensor& pixels, int64_t k, const Tensor& cols);
// y[r, o] += bias[o]; y f32 [n, out] contiguous, bias f32|bf16 [out] contiguous.
void add_bias_rows_f32(const Context& ctx, const Tensor& y, const Tensor& bias);

}  // namespace mvl::cuda
