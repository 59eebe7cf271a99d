// The ViT's patch embedding on CUDA: im2col of the pixels (f32, and bf16 padded for cuBLASLt),
// zero-padding a weight's columns, and the [CLS; patches] + positions step. CPU twin:
// kernels/cpu/patch_embed.h; dispatch: kernels/ops/patch_embed.h. All enqueue on ctx.stream().
#pragma once

#include <cstdint>

#include "kernels/core/tensor.h"
#include "kernels/cuda/context.h"

namespace mvl::cuda {

// im2col: pixels f32 [T, C, S, S] contiguous -> cols f32 [T*(S/k)^2, C*k*k] contiguous,
// row = (t*g + py)*g + px, column = (c*k + ky)*k + kx (the conv weight's [C, k, k] order).
void patchify_f32(const Context& ctx, const Tensor& pixels, int64_t k, const Tensor& cols);

// bf16 im2col: pixels f32|bf16 [T, C, S, S] contiguous -> cols bf16 [T*(S/k)^2, Kp] contiguous,
// Kp >= C*k*k; same column order as patchify_f32, each value rounded to bf16 once (exact for
// bf16 pixels); columns [C*k*k, Kp) are zero (pad Kp to a multiple of 8 for 16-byte rows).
void patchify_bf16(const Context& ctx, const Tensor& pixels, int64_t k, const Tensor& cols);

// dst bf16 [R, Kp] = src bf16 [R, K] (both contiguous, K <= Kp) with zero columns [K, Kp).
void pad_cols_bf16(const Context& ctx, const Tensor& src, const Tensor& dst);

// The CLIP embedding step: out[t, 0] = cls + pos[0], out[t, 1 + p] = patches[t, p] + pos[1 + p],
// summed in f32 and rounded once to out's dtype. patches f32|bf16 [T, P, D]; cls f32|bf16 [D]
// (any shape with D elements); pos f32|bf16 [1 + P, D]; out f32|bf16 [T, 1 + P, D]; contiguous.
void vit_embeddings(const Context& ctx, const Tensor& patches, const Tensor& cls, const Tensor& pos,
                    const Tensor& out);

}  // namespace mvl::cuda
