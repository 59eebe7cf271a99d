// Row-wise and elementwise CUDA ops on bf16 activations: RMSNorm (plain, DeepNorm
// residual-fused, gated for the lightning output), LayerNorm, activations, SwiGLU,
// partial NeoX RoPE, embedding gather, dtype conversion and greedy argmax.
// All take a Context, run on its stream and never synchronise.
#pragma once

#include <string>

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

// y = (x - mean)/sqrt(var + eps) · w + b per row, f32 statistics. bf16 [n, D]; w, b bf16 [D].
void layer_norm(const Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b, float eps,
                const Tensor& y);

// In-place activation on a bf16 tensor: "silu", "gelu" (erf), "quick_gelu", "sigmoid".
void activation_inplace(const Context& ctx, const Tensor& x, const std::string& name);

// out[n, F] = silu(gu[:, :F]) ⊙ gu[:, F:] (gate first, then up). bf16.
void swiglu(const Context& ctx, const Tensor& gu, const Tensor& out);

// c = a + b (bf16, same shape, contiguous); c may alias a or b.
void add(const Context& ctx, const Tensor& a, const Tensor& b, const Tensor& c);

// Partial NeoX RoPE in place on x: bf16 [n, H, d] (contiguous last dim, any token/head
// strides): for i < rot/2, (x_i, x_{i+rot/2}) rotated by pos·theta^(-2i/rot); dims >= rot
// untouched. positions: i32 [n] on the device. Angles and the rotation in f32.
void rope_partial(const Context& ctx, const Tensor& x, const Tensor& positions, int rotary_dim,
                  float theta);

// out[i] = table[ids[i]] (bf16 [V, D] -> bf16 [n, D]); ids i32 [n]. Out-of-range ids are
// clamped to row 0 on the device; callers validate ids on the host before upload.
void embedding(const Context& ctx, const Tensor& table, const Tensor& ids, const Tensor& out);

// y = x converted (f32 <-> bf16, or copy), same shape, contiguous.
void convert(const Context& ctx, const Tensor& x, const Tensor& y);

// out[i] = argmax_j logits[i, j] (f32 or bf16 [n, V]; lowest index wins ties; NaN never wins).
void argmax(const Context& ctx, const Tensor& logits, const Tensor& out);

}  // namespace mvl::cuda
