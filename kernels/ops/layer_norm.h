// LayerNorm over the last dimension (the CLIP ViT's pre_layrnorm, layer_norm1/2):
// y = (x - mean) / sqrt(var + eps) * weight + bias, biased variance, statistics in f32+.
#pragma once

#include "kernels/core/tensor.h"

namespace mvl::ops {

// x: f32 [..., D] (any strides; a contiguous copy is made if needed)
// weight, bias: f32|bf16 [D]. Returns f32 [..., D], contiguous.
// bf16 activations (x bf16 on a CUDA device): the tuned bf16 LayerNorm (f32 statistics, one
// rounding of the output, PyTorch's bf16 LayerNorm); returns bf16 [..., D]. The CPU refuses
// bf16 activations (Error{unsupported}), as the other ops do.
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps);

}  // namespace mvl::ops
