// MoE feed-forward block (spec §6.6): router logits b W_g^T, softmax f32, top-k (lowest
// index wins ties), renormalise over the chosen k, SwiGLU experts, weighted combine.
#include "kernels/ops/linear.h"
#include "kernels/ops/moe.h"
#include "llm/layers/layers.h"

namespace mvl::llm {

Tensor moe_block(const LayerWeights& w, const TextConfig& cfg, const Tensor& b) {
  const ops::MoeRouting routing = ops::moe_route(ops::linear(b, w.gate), cfg.num_experts_per_tok);
  return ops::moe_experts(b, routing, w.experts);
}

}  // namespace mvl::llm
