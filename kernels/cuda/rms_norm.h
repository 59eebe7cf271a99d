// RMSNorm on CUDA: bf16 activations (plain, DeepNorm residual-fused, gated for the lightning
// output; PyTorch's bf16 roundings) and the f32 generic form. CPU twin: kernels/cpu/rms_norm.h;
// dispatch: kernels/ops/rms_norm.h. All enqueue on ctx.stream() and never synchronise.
#pragma once

#include <cstdint>

#include "kernels/core/tensor.h"
#include "kernels/cuda/context.h"

namespace mvl::cuda {

// y = w ⊙ bf16(x · (mean(x²) + eps)^-1/2) per row (spec §6.2 rounding). x,y: bf16 [n, D]; w: bf16
// [D].
void rms_norm(const Context& ctx, const Tensor& x, const Tensor& w, float eps, const Tensor& y);

// DeepNorm step fused: s = bf16(bf16(alpha·resid) + branch); y = rms_norm(s, w, eps).
// resid, branch, y: bf16 [n, D] (y may alias branch). Spec §6.3.
void residual_rms_norm(const Context& ctx, const Tensor& resid, float alpha, const Tensor& branch,
                       const Tensor& w, float eps, const Tensor& y);

// Lightning output path fused (spec §6.4.6): y = bf16(σ(gate)) ⊙ rms_norm(o, w, eps).
// o, gate, y: bf16 [n, D]; w: bf16 [D].
void gated_rms_norm(const Context& ctx, const Tensor& o, const Tensor& w, float eps,
                    const Tensor& gate, const Tensor& y);

// f32 activations.
// x, y: f32 [rows, D] contiguous; w f32|bf16 [D].
void rms_norm_f32(const Context& ctx, const Tensor& x, const Tensor& w, float eps, bool round_bf16,
                  const Tensor& y);

}  // namespace mvl::cuda
