// RMSNorm (spec §6.2): y = w * r(x / sqrt(mean(x^2) + eps)), statistics in f32, and the two
// fused forms the text model uses (DeepNorm residual + norm, §6.3; sigmoid-gated norm of the
// lightning output, §6.4.6). bf16 tensors on a CUDA device take the tuned bf16 kernels.
#pragma once

#include "kernels/core/tensor.h"

namespace mvl::ops {

// x: f32 [..., D] contiguous; w: f32|bf16 [D]. Returns f32 [..., D].
// round_bf16: round the normalised value to bf16 before the weight multiply and the
// product to bf16 after it (the reference's order for a bf16 model, spec §8.1.8);
// false = plain f32 (what the fp32 goldens do).
// x bf16 on a CUDA device: bf16 [..., D] out, always with that rounding (round_bf16 ignored).
Tensor rms_norm(const Tensor& x, const Tensor& w, float eps, bool round_bf16 = false);

// rms_norm(axpby(resid, alpha, branch, beta), w, eps): the DeepNorm step "y = α·a + β·f(a);
// b = RMSNorm(y)" in one call. Same dtypes/devices as rms_norm; resid and branch one shape.
// bf16 on a GPU with beta == 1: one fused kernel (spec §6.3 rounding).
Tensor residual_rms_norm(const Tensor& resid, float alpha, const Tensor& branch, float beta, const Tensor& w,
                         float eps);

// sigmoid(gate) * rms_norm(o, w, eps) (the lightning output path). o, gate: one shape.
// bf16 on a GPU: one fused kernel with PyTorch's three roundings.
Tensor gated_rms_norm(const Tensor& o, const Tensor& w, float eps, const Tensor& gate);

}  // namespace mvl::ops
