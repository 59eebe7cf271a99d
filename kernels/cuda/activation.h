// Activations on CUDA: in-place bf16 activations and SwiGLU (PyTorch's bf16 roundings), and
// the f32 generic form. Dispatch: kernels/ops/activation.h. All enqueue on ctx.stream().
#pragma once

#include <cstdint>
#include <string>

#include "kernels/core/tensor.h"
#include "kernels/cuda/context.h"

namespace mvl::cuda {

// In-place activation on a bf16 tensor: "silu", "gelu" (erf), "quick_gelu", "sigmoid".
void activation_inplace(const Context& ctx, const Tensor& x, const std::string& name);

// out[n, F] = silu(gu[:, :F]) ⊙ gu[:, F:] (gate first, then up). bf16.
void swiglu(const Context& ctx, const Tensor& gu, const Tensor& out);

// f32 activations: "silu", "sigmoid", "gelu", "quick_gelu"; f32 contiguous.
void activation_f32(const Context& ctx, const Tensor& x, const std::string& name,
                    const Tensor& out);

}  // namespace mvl::cuda
