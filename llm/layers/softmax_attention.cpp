// Softmax attention layer (spec §6.5): GQA, partial half-split RoPE on q and k, K cached
// after RoPE, causal attention over the cache, scale 1/sqrt(head_dim).
#include <cmath>

#include "kernels/ops/attention.h"
#include "kernels/ops/linear.h"
#include "kernels/ops/rope.h"
#include "llm/layers/layers.h"

namespace mvl::llm {

Tensor softmax_attention(const SoftmaxWeights& w, const TextConfig& cfg, const Tensor& a, int64_t layer,
                         SequenceState& state) {
  const int64_t n = a.dim(0), nh = cfg.num_attention_heads, nkv = cfg.num_key_value_heads, dh = cfg.head_dim;
  const Tensor pos = state.positions(n);  // i32 [n]
  const Tensor q = ops::rope(ops::linear(a, w.q_proj).view({n, nh, dh}), pos, cfg.rotary_dim, cfg.rope_theta);
  const Tensor k = ops::rope(ops::linear(a, w.k_proj).view({n, nkv, dh}), pos, cfg.rotary_dim, cfg.rope_theta);
  const Tensor v = ops::linear(a, w.v_proj).view({n, nkv, dh});
  state.append_kv(layer, k, v);
  const KvCache& c = state.kv_cache(layer);
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(dh)));
  // Decode: the length is read on the device (graph-safe). Prefill: the host length picks
  // the sliced cache, which lets the GPU take its prefill kernels.
  const Tensor o = n == 1 ? ops::attention_cached(q, c.k, c.v, scale, state.length_after(n))
                          : ops::attention(q, c.k.slice(0, 0, c.length), c.v.slice(0, 0, c.length), scale,
                                           /*causal=*/true, /*q_offset=*/c.length - n);
  return ops::linear(o.view({n, nh * dh}), w.o_proj);
}

}  // namespace mvl::llm
