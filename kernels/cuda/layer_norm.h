// LayerNorm on CUDA (the ViT's): bf16 activations with f32 statistics, and the f32 generic form
// with f64 statistics like the CPU reference. CPU twin: kernels/cpu/layer_norm.h; dispatch:
// kernels/ops/layer_norm.h. All enqueue on ctx.stream() and never synchronise.
#pragma once

#include <cstdint>

#include "kernels/core/tensor.h"
#include "kernels/cuda/context.h"

namespace mvl::cuda {

// How the bf16 layer_norm maps rows: a block per row (two block-wide reductions), or a warp
// per row (shuffle reductions, 8 rows per 256-thread block; D % 256 == 0, D <= 2048, e.g. the
// ViT's 1024; other widths keep the block form).
enum class LayerNormRows { block, warp };
// What layer_norm runs when not told. tools/device/vit_check.sh times both on the ViT shape and
// prints the line to put here when the other wins.
inline constexpr LayerNormRows kLayerNormRowsDefault = LayerNormRows::warp;

// y = (x - mean)/sqrt(var + eps) · w + b per row, f32 statistics. bf16 [n, D]; w, b bf16 [D].
void layer_norm(const Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b, float eps,
                const Tensor& y, LayerNormRows rows = kLayerNormRowsDefault);

// x, y: f32 [rows, D] contiguous; w, b: f32|bf16 [D] contiguous. Mean and biased variance
// in f64 like the CPU reference: y = (x - mean) * rsqrt(var + eps) * w + b.
void layer_norm_f32(const Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b,
                    float eps, const Tensor& y);

}  // namespace mvl::cuda
