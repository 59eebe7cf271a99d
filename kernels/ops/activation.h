// Elementwise activations on f32 tensors (returning new contiguous tensors). bf16 tensors on a
// CUDA device give bf16 (f32 math, one rounding, PyTorch bf16 semantics); the CPU is f32 only.
#pragma once

#include "kernels/core/tensor.h"

namespace mvl::ops {

Tensor gelu(const Tensor& x);        // exact erf form: x * 0.5 * (1 + erf(x / sqrt(2)))
Tensor quick_gelu(const Tensor& x);  // x * sigmoid(1.702 x) (CLIP's default act)
Tensor silu(const Tensor& x);        // x * sigmoid(x)
Tensor sigmoid(const Tensor& x);
// Applies the activation named by a config string ("gelu", "quick_gelu", "silu");
// throws Error{unsupported} naming it otherwise.
Tensor activation(const Tensor& x, const std::string& name);

}  // namespace mvl::ops
