// Mixture-of-experts feed-forward pieces (spec §6.6): the router (softmax in f32, top-k
// with the lowest expert index winning ties, renormalised over the chosen k), the
// SiLU-gated expert MLP and the weighted combine.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/core/tensor.h"
#include "kernels/ops/device.h"

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
// Returns f32 [n, H]. An id of -1 is skipped (an expert held by another rank of an EP group).
Tensor moe_experts(const Tensor& x, const MoeRouting& routing, const std::vector<ExpertWeights>& experts);

// ids: int32 [n, k] expert ids of the whole model (any device). The ids a holder of experts
// [e0, e1) passes to moe_experts: held experts renumbered from 0, the others -1. Returns a new
// host int32 tensor (callers copy it to their device).
Tensor local_expert_ids(const Tensor& ids, int64_t e0, int64_t e1);

// All experts of one layer in two device buffers (the CUDA bf16 MoE path reads them as
// one grouped weight): w13 rows [e, 0:I) = expert e's w1 (gate), [e, I:2I) = its w3 (up).
struct PackedExperts {
  Tensor w13;  // bf16 [E, 2I, H] on the device
  Tensor w2;   // bf16 [E, H, I] on the device
  bool defined() const { return w13.defined(); }
};

// Uploads a layer's experts to dev once, packed (bf16): returns the packed buffers and sets
// *views to per-expert ExpertWeights that are views into them (so no weight is stored
// twice). The CPU returns an undefined PackedExperts and *views = experts.
PackedExperts pack_experts(const std::vector<ExpertWeights>& experts, const DeviceContext& dev,
                           std::vector<ExpertWeights>* views);

// The whole MoE block on x [n, H]: router logits x·gateᵀ (gate f32|bf16 [E, H]) -> route
// (top_k) -> experts. f32 x: moe_route + moe_experts (returns f32 [n, H]). bf16 x on a GPU
// (returns bf16 [n, H]): with `packed`, top_k 2, 2 <= E <= 32 and H, I multiples of 8, the
// tuned route + permute + grouped-GEMM kernels (decode path for n <= 64 is sync-free);
// otherwise the f32 path between conversions.
Tensor moe(const Tensor& x, const Tensor& gate, int64_t top_k, const std::vector<ExpertWeights>& experts,
           const PackedExperts* packed = nullptr);

}  // namespace mvl::ops
