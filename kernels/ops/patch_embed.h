// The ViT patch embedding: a k x k convolution with stride k and no bias (CLIP's
// patch_embedding), applied to every tile. Vision-only.
#pragma once

#include "kernels/core/tensor.h"

namespace mvl::ops {

// pixels: f32 [T, C, S, S] (contiguous), weight: f32|bf16 [D, C, k, k] with S % k == 0.
// Returns f32 [T, (S/k)^2, D]: patch index = (S/k)*y + x (row-major), as CLIP flattens it.
Tensor patch_embed(const Tensor& pixels, const Tensor& weight);

}  // namespace mvl::ops
