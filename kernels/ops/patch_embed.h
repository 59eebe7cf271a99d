// The ViT's embedding step: the patch embedding (a k x k convolution with stride k and no bias,
// CLIP's patch_embedding, applied to every tile) and [CLS; patches] + learned positions.
// Vision-only.
#pragma once

#include "kernels/core/tensor.h"

namespace mvl::ops {

// pixels: f32 [T, C, S, S] (contiguous), weight: f32|bf16 [D, C, k, k] with S % k == 0.
// Returns f32 [T, (S/k)^2, D]: patch index = (S/k)*y + x (row-major), as CLIP flattens it.
// bf16 pixels on a CUDA device (the bf16 activation path): bf16 im2col + the cuBLASLt bf16 GEMM
// (f32 accumulation), returns bf16 [T, (S/k)^2, D]. The CPU refuses bf16 pixels.
Tensor patch_embed(const Tensor& pixels, const Tensor& weight);

// patches: f32|bf16 [T, P, D]; class_emb: f32|bf16 with D elements ([D] or [1, D]);
// pos_emb: f32|bf16 [1 + P, D]. Returns [T, 1 + P, D] in the patches' dtype:
// row 0 = class_emb + pos_emb[0], row 1 + p = patches[:, p] + pos_emb[1 + p] (one f32 add, one
// rounding for bf16: PyTorch's bf16 cat + add). bf16 patches need the CUDA backend.
Tensor vit_embeddings(const Tensor& patches, const Tensor& class_emb, const Tensor& pos_emb);

}  // namespace mvl::ops
