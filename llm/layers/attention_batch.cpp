// The attention sub-blocks for a batched decode step (TextModel::decode_batch): B sequences,
// one token each, each at its own position. Projections, RoPE, gate, norm and output
// projection run once over the B rows; the per-sequence part (lightning recurrent update,
// KV append + attention over that sequence's cache) is one batched op per layer
// (kernels/ops/decode_batch.h) or, with BatchAttention::per_sequence, a loop over the
// sequences.
#include <algorithm>
#include <cmath>

#include "kernels/core/error.h"
#include "kernels/ops/activation.h"
#include "kernels/ops/attention.h"
#include "kernels/ops/decode_batch.h"
#include "kernels/ops/lightning.h"
#include "kernels/ops/linear.h"
#include "kernels/ops/rms_norm.h"
#include "kernels/ops/rope.h"
#include "kernels/ops/tensor_ops.h"
#include "llm/layers/layers.h"

namespace mvl::llm {

const char* batch_attention_name(BatchAttention m) {
  switch (m) {
    case BatchAttention::per_sequence: return "per-sequence";
    case BatchAttention::batched: return "batched";
    case BatchAttention::batched_fill: return "batched-fill";
  }
  return "?";
}

BatchStep make_batch_step(const TextConfig& cfg, const ops::DeviceContext& dev,
                          const std::vector<SequenceState*>& states, BatchAttention mode) {
  BatchStep s;
  s.states = states;
  s.mode = mode;
  if (mode == BatchAttention::per_sequence) return s;
  const int64_t B = static_cast<int64_t>(states.size()), L = cfg.num_hidden_layers;
  MVL_CHECK(B > 0, internal, "make_batch_step: no sequences");
  for (SequenceState* st : states) st->ensure_kv(st->position() + 1);
  Tensor pos = Tensor::empty({3, B}, DType::i32);
  std::vector<int64_t> caps;
  int64_t first_softmax = -1;
  for (int64_t b = 0; b < B; ++b) {
    const int64_t p = states[static_cast<size_t>(b)]->position();
    s.position.push_back(p);
    pos.data<int32_t>()[b] = static_cast<int32_t>(p);
    pos.data<int32_t>()[B + b] = static_cast<int32_t>(p + 1);
  }
  int64_t rows = 0;
  s.row.assign(static_cast<size_t>(L), -1);
  for (int64_t l = 0; l < L; ++l) {
    s.row[static_cast<size_t>(l)] = rows;
    rows += cfg.is_softmax(l) ? 2 : 1;
  }
  Tensor ptrs = Tensor::empty({std::max<int64_t>(rows, 1), B}, DType::i64);
  int64_t* P = ptrs.data<int64_t>();
  for (int64_t l = 0; l < L; ++l) {
    const int64_t r = s.row[static_cast<size_t>(l)];
    for (int64_t b = 0; b < B; ++b) {
      SequenceState& st = *states[static_cast<size_t>(b)];
      if (cfg.is_softmax(l)) {
        const KvCache& c = st.kv_cache(l);
        P[r * B + b] = ops::buffer_address(c.k);
        P[(r + 1) * B + b] = ops::buffer_address(c.v);
        if (first_softmax < 0 || first_softmax == l) {
          first_softmax = l;
          caps.push_back(c.k.dim(0));
        }
      } else {
        P[r * B + b] = ops::buffer_address(st.lightning_state(l));
      }
    }
  }
  // Every softmax layer of a sequence has the same capacity (the caches grow together).
  const std::vector<int32_t> sp =
      caps.empty() ? std::vector<int32_t>(static_cast<size_t>(B), 1)
                   : ops::decode_split_counts(dev, cfg.num_attention_heads, cfg.num_key_value_heads,
                                              cfg.head_dim, states[0]->kv_cache(first_softmax).k.dtype(), caps);
  for (int64_t b = 0; b < B; ++b) pos.data<int32_t>()[2 * B + b] = sp[static_cast<size_t>(b)];
  s.split_counts = sp;
  if (dev.is_cuda()) {
    pos = ops::to_device(pos, dev);
    ptrs = ops::to_device(ptrs, dev);
  }
  rebind_batch_step(s, pos, ptrs);
  return s;
}

void rebind_batch_step(BatchStep& s, const Tensor& table, const Tensor& ptrs) {
  s.table = table;
  s.positions = table.select(0, 0);
  s.lens = table.select(0, 1);
  s.splits = table.select(0, 2);
  s.ptrs = ptrs;
}

Tensor lightning_attention_batch(const LightningWeights& w, const TextConfig& cfg, const Tensor& a,
                                 int64_t layer, const BatchStep& step) {
  const std::vector<SequenceState*>& states = step.states;
  const int64_t B = a.dim(0), nh = cfg.num_attention_heads, dh = cfg.head_dim;
  MVL_CHECK(static_cast<int64_t>(states.size()) == B, internal,
            "lightning batch: {} rows for {} states", B, states.size());
  const Tensor qkv =
      ops::activation(ops::linear(a, w.qkv_proj), cfg.hidden_act).view({B, nh, 3 * dh});
  const Tensor q = qkv.slice(2, 0, dh), k = qkv.slice(2, dh, 2 * dh), v = qkv.slice(2, 2 * dh, 3 * dh);
  Tensor o;
  if (step.mode == BatchAttention::per_sequence) {
    std::vector<Tensor> rows;
    rows.reserve(static_cast<size_t>(B));
    for (int64_t i = 0; i < B; ++i)
      rows.push_back(ops::lightning_recurrent(q.slice(0, i, i + 1), k.slice(0, i, i + 1), v.slice(0, i, i + 1),
                                              w.slopes, states[static_cast<size_t>(i)]->lightning_state(layer))
                         .view({1, nh * dh}));
    o = B == 1 ? rows[0] : ops::concat_rows(rows);
  } else {
    std::vector<Tensor> st;
    st.reserve(static_cast<size_t>(B));
    for (SequenceState* s : states) st.push_back(s->lightning_state(layer));
    o = ops::lightning_decode_batch(q, k, v, w.slopes, st, step.ptrs.select(0, step.row[static_cast<size_t>(layer)]));
  }
  const Tensor y = ops::gated_rms_norm(o.view({B, nh * dh}), w.norm, static_cast<float>(cfg.lightning_norm_eps),
                                       ops::linear(a, w.output_gate));
  return ops::linear(y, w.out_proj);
}

Tensor softmax_attention_batch(const SoftmaxWeights& w, const TextConfig& cfg, const Tensor& a,
                               int64_t layer, const BatchStep& step) {
  const std::vector<SequenceState*>& states = step.states;
  const int64_t B = a.dim(0), nh = cfg.num_attention_heads, nkv = cfg.num_key_value_heads,
                dh = cfg.head_dim;
  MVL_CHECK(static_cast<int64_t>(states.size()) == B, internal,
            "softmax batch: {} rows for {} states", B, states.size());
  const bool per_seq = step.mode == BatchAttention::per_sequence;
  // Row i rotates by its own sequence's position.
  Tensor pos;
  if (per_seq) {
    std::vector<Tensor> pos_parts;
    for (SequenceState* s : states) pos_parts.push_back(s->positions(1));
    pos = B == 1 ? pos_parts[0] : ops::concat_rows(pos_parts);
  } else {
    pos = step.positions;
  }
  const Tensor q =
      ops::rope(ops::linear(a, w.q_proj).view({B, nh, dh}), pos, cfg.rotary_dim, cfg.rope_theta);
  const Tensor k =
      ops::rope(ops::linear(a, w.k_proj).view({B, nkv, dh}), pos, cfg.rotary_dim, cfg.rope_theta);
  const Tensor v = ops::linear(a, w.v_proj).view({B, nkv, dh});
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(dh)));
  Tensor o;
  if (per_seq) {
    std::vector<Tensor> rows;
    rows.reserve(static_cast<size_t>(B));
    for (int64_t i = 0; i < B; ++i) {
      SequenceState& st = *states[static_cast<size_t>(i)];
      st.append_kv(layer, k.slice(0, i, i + 1), v.slice(0, i, i + 1));
      const KvCache& c = st.kv_cache(layer);
      rows.push_back(
          ops::attention_cached(q.slice(0, i, i + 1), c.k, c.v, scale, st.length_after(1)).view({1, nh * dh}));
    }
    o = B == 1 ? rows[0] : ops::concat_rows(rows);
  } else {
    ops::KvBatch kv;
    for (int64_t i = 0; i < B; ++i) {
      KvCache& c = states[static_cast<size_t>(i)]->kv_cache(layer);
      const int64_t p = step.position[static_cast<size_t>(i)];
      MVL_CHECK(c.length == p && c.k.dim(0) > p, internal,
                "softmax batch: layer {} of sequence {} holds {} of {} rows at position {}", layer, i, c.length,
                c.k.dim(0), p);
      kv.k.push_back(c.k);
      kv.v.push_back(c.v);
      kv.rows.push_back(p);
    }
    const int64_t r = step.row[static_cast<size_t>(layer)];
    if (step.ptrs.device().is_cuda()) {
      kv.k_ptrs = step.ptrs.select(0, r);
      kv.v_ptrs = step.ptrs.select(0, r + 1);
      kv.rows_dev = step.positions;
      kv.lens_dev = step.lens;
      kv.splits_dev = step.splits;
      for (int32_t sp : step.split_counts) kv.splits_max = std::max(kv.splits_max, sp);
    }
    ops::append_kv_batch(k.is_contiguous() ? k : ops::clone(k), v.is_contiguous() ? v : ops::clone(v), kv);
    for (SequenceState* s : states) s->kv_cache(layer).length += 1;
    o = ops::attention_decode_batch(q, kv, scale,
                                    step.mode == BatchAttention::batched_fill ? ops::DecodeSplits::batch
                                                                              : ops::DecodeSplits::per_sequence);
  }
  return ops::linear(o.view({B, nh * dh}), w.o_proj);
}

}  // namespace mvl::llm
