// Mixture-of-experts FFN on CUDA (spec §6.6): router softmax + top-2 (lowest index wins
// ties) + renormalise, token permute by expert, expert SwiGLU GEMMs, weighted unpermute.
#pragma once

#include "kernels/core/tensor.h"
#include "kernels/cuda/context.h"

namespace mvl::cuda {

// Expert weights packed once at load: w13 = [w1 (gate); w3 (up)] rows, w2 = down.
struct MoeWeights {
  Tensor router;  // bf16 [E, D]       block_sparse_moe.gate.weight
  Tensor w13;     // bf16 [E, 2F, D]   experts.{e}.w1.weight rows then experts.{e}.w3.weight rows
  Tensor w2;      // bf16 [E, D, F]    experts.{e}.w2.weight
};

// logits: f32 [n, E] -> idx: i32 [n, 2] (descending probability), weights: f32 [n, 2]
// (renormalised over the two). Softmax in f32.
void moe_route(const Context& ctx, const Tensor& logits, const Tensor& idx, const Tensor& weights);

// out: bf16 [n, D] = MoE(x), x: bf16 [n, D]. n <= kMoeDecodeMaxTokens takes the decode
// path (weight-streaming GEMV kernels; no host sync, graph-capturable); larger n takes the
// prefill path (cuBLASLt GEMM per expert; one host sync to read the expert counts).
constexpr int64_t kMoeDecodeMaxTokens = 64;
void moe_forward(const Context& ctx, const Tensor& x, const MoeWeights& w, const Tensor& out);

}  // namespace mvl::cuda
