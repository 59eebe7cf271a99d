// Mixture-of-experts feed-forward pieces (spec §6.6): the router (softmax in f32, top-k
// with the lowest expert index winning ties, renormalised over the chosen k), the
// SiLU-gated expert MLP and the weighted combine.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/core/tensor.h"

namespace mvl::ops {

struct MoeRouting {
  Tensor experts;  // i32 [n, k]: chosen experts per token, by descending probability
  Tensor weights;  // f32 [n, k]: p_e / sum of the k chosen p (the reference's renormalisation)
};

// One expert's weights (views into the checkpoint are fine; each must be contiguous).
struct ExpertWeights {
  Tensor w1;  // f32|bf16 [I, H]  gate projection
  Tensor w3;  // f32|bf16 [I, H]  up projection
  Tensor w2;  // f32|bf16 [H, I]  down projection
};

// logits: f32 [n, E] router logits. Returns the top_k routing per token.
MoeRouting moe_route(const Tensor& logits, int64_t top_k);

// silu(gate) * up, elementwise, f32 same shapes.
Tensor silu_mul(const Tensor& gate, const Tensor& up);

// x: f32 [n, H]. out[t] = sum over the token's k experts e (accumulated in ascending
// expert order, like the reference's index_add loop) of weight * W2_e (silu(W1_e x) * (W3_e x)).
// Returns f32 [n, H].
Tensor moe_experts(const Tensor& x, const MoeRouting& routing, const std::vector<ExpertWeights>& experts);

}  // namespace mvl::ops
