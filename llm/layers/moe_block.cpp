// MoE feed-forward block (spec §6.6): router logits b W_g^T, softmax f32, top-k (lowest
// index wins ties), renormalise over the chosen k, SwiGLU experts, weighted combine.
#include "kernels/ops/linear.h"
#include "kernels/ops/moe.h"
#include "llm/layers/layers.h"

namespace mvl::llm {

Tensor moe_block(const LayerWeights& w, const TextConfig& cfg, const Tensor& b) {
  // ops::moe = moe_route(linear(b, gate)) + moe_experts for f32; the packed tuned kernels for bf16.
  return ops::moe(b, w.gate, cfg.num_experts_per_tok, w.experts, w.packed.defined() ? &w.packed : nullptr);
}

}  // namespace mvl::llm
