// The attention sub-blocks for a batched decode step (TextModel::decode_batch): B sequences,
// one token each, each at its own position. Projections, RoPE, gate, norm and output
// projection run once over the B rows; the per-sequence part (lightning recurrent update,
// KV append + attention over that sequence's cache) loops over the sequences.
#include <cmath>

#include "kernels/core/error.h"
#include "kernels/ops/activation.h"
#include "kernels/ops/attention.h"
#include "kernels/ops/lightning.h"
#include "kernels/ops/linear.h"
#include "kernels/ops/rms_norm.h"
#include "kernels/ops/rope.h"
#include "kernels/ops/tensor_ops.h"
#include "llm/layers/layers.h"

namespace mvl::llm {

Tensor lightning_attention_batch(const LightningWeights& w, const TextConfig& cfg, const Tensor& a,
                                 int64_t layer, const std::vector<SequenceState*>& states) {
  const int64_t B = a.dim(0), nh = cfg.num_attention_heads, dh = cfg.head_dim;
  MVL_CHECK(static_cast<int64_t>(states.size()) == B, internal,
            "lightning batch: {} rows for {} states", B, states.size());
  const Tensor qkv =
      ops::activation(ops::linear(a, w.qkv_proj), cfg.hidden_act).view({B, nh, 3 * dh});
  std::vector<Tensor> rows;
  rows.reserve(static_cast<size_t>(B));
  for (int64_t i = 0; i < B; ++i) {
    const Tensor r = qkv.slice(0, i, i + 1);
    const Tensor o = ops::lightning_recurrent(
        r.slice(2, 0, dh), r.slice(2, dh, 2 * dh), r.slice(2, 2 * dh, 3 * dh), w.slopes,
        states[static_cast<size_t>(i)]->lightning_state(layer));
    rows.push_back(o.view({1, nh * dh}));
  }
  const Tensor o = B == 1 ? rows[0] : ops::concat_rows(rows);
  const Tensor y = ops::gated_rms_norm(o, w.norm, static_cast<float>(cfg.lightning_norm_eps),
                                       ops::linear(a, w.output_gate));
  return ops::linear(y, w.out_proj);
}

Tensor softmax_attention_batch(const SoftmaxWeights& w, const TextConfig& cfg, const Tensor& a,
                               int64_t layer, const std::vector<SequenceState*>& states) {
  const int64_t B = a.dim(0), nh = cfg.num_attention_heads, nkv = cfg.num_key_value_heads,
                dh = cfg.head_dim;
  MVL_CHECK(static_cast<int64_t>(states.size()) == B, internal,
            "softmax batch: {} rows for {} states", B, states.size());
  // Row i rotates by its own sequence's position.
  std::vector<Tensor> pos_parts;
  for (SequenceState* s : states) pos_parts.push_back(s->positions(1));
  const Tensor pos = B == 1 ? pos_parts[0] : ops::concat_rows(pos_parts);
  const Tensor q =
      ops::rope(ops::linear(a, w.q_proj).view({B, nh, dh}), pos, cfg.rotary_dim, cfg.rope_theta);
  const Tensor k =
      ops::rope(ops::linear(a, w.k_proj).view({B, nkv, dh}), pos, cfg.rotary_dim, cfg.rope_theta);
  const Tensor v = ops::linear(a, w.v_proj).view({B, nkv, dh});
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(dh)));
  std::vector<Tensor> rows;
  rows.reserve(static_cast<size_t>(B));
  for (int64_t i = 0; i < B; ++i) {
    SequenceState& st = *states[static_cast<size_t>(i)];
    st.append_kv(layer, k.slice(0, i, i + 1), v.slice(0, i, i + 1));
    const KvCache& c = st.kv_cache(layer);
    const Tensor o =
        ops::attention_cached(q.slice(0, i, i + 1), c.k, c.v, scale, st.length_after(1));
    rows.push_back(o.view({1, nh * dh}));
  }
  const Tensor o = B == 1 ? rows[0] : ops::concat_rows(rows);
  return ops::linear(o, w.o_proj);
}

}  // namespace mvl::llm
