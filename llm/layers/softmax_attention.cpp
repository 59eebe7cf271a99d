// Softmax attention layer (spec §6.5): GQA, partial half-split RoPE on q and k, K cached
// after RoPE, causal attention over the cache, scale 1/sqrt(head_dim).
#include <cmath>

#include "kernels/ops/attention.h"
#include "kernels/ops/linear.h"
#include "kernels/ops/rope.h"
#include "llm/layers/layers.h"

namespace mvl::llm {

Tensor softmax_attention(const SoftmaxWeights& w, const TextConfig& cfg, const Tensor& a, int64_t layer,
                         int64_t pos0, SequenceState& state) {
  const int64_t n = a.dim(0), nh = cfg.num_attention_heads, nkv = cfg.num_key_value_heads, dh = cfg.head_dim;
  const Tensor q = ops::rope(ops::linear(a, w.q_proj).view({n, nh, dh}), pos0, cfg.rotary_dim, cfg.rope_theta);
  const Tensor k = ops::rope(ops::linear(a, w.k_proj).view({n, nkv, dh}), pos0, cfg.rotary_dim, cfg.rope_theta);
  const Tensor v = ops::linear(a, w.v_proj).view({n, nkv, dh});
  state.append_kv(layer, k, v);
  const KvCache& c = state.kv_cache(layer);
  const Tensor o = ops::attention(q, c.k.slice(0, 0, c.length), c.v.slice(0, 0, c.length),
                                  static_cast<float>(1.0 / std::sqrt(static_cast<double>(dh))), /*causal=*/true,
                                  /*q_offset=*/c.length - n);
  return ops::linear(o.view({n, nh * dh}), w.o_proj);
}

}  // namespace mvl::llm
