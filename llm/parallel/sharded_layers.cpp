// One rank's share of each decoder sub-block, written with ops:: calls plus the
// communicator's collectives (see sharded_layers.h for what each one exchanges).
#include "llm/parallel/sharded_layers.h"

#include "kernels/core/error.h"
#include "kernels/ops/activation.h"
#include "kernels/ops/embedding.h"
#include "kernels/ops/lightning.h"
#include "kernels/ops/linear.h"
#include "kernels/ops/moe.h"
#include "kernels/ops/moe_range.h"
#include "kernels/ops/rms_norm.h"
#include "kernels/ops/tensor_ops.h"

namespace mvl::llm {

namespace {
// x: [N * rows, cols] rank-major (an all-gather) -> [rows, N * cols]: rank r's columns at
// [r * cols, (r + 1) * cols).
Tensor ranks_to_columns(const Tensor& x, int n) {
  const int64_t rows = x.dim(0) / n, cols = x.dim(1);
  return ops::clone(x.view({n, rows, cols}).transpose(0, 1)).view({rows, n * cols});
}
}  // namespace

Tensor sharded_embedding(const RankContext& rc, const std::vector<int32_t>& ids, DType act) {
  const int64_t n = static_cast<int64_t>(ids.size()), V = rc.cfg.vocab_size;
  for (int64_t i = 0; i < n; ++i)
    MVL_CHECK(ids[i] >= 0 && ids[i] < V, invalid_argument,
              "token id {} at position {} is outside the vocabulary [0, {})", ids[i], i, V);
  Tensor x = ops::empty({n, rc.cfg.hidden_size}, act, rc.dev);  // zeros: other ranks' rows
  // Runs of consecutive positions whose ids this rank holds, looked up together.
  for (int64_t i = 0; i < n;) {
    if (ids[i] < rc.plan.vocab0 || ids[i] >= rc.plan.vocab1) {
      ++i;
      continue;
    }
    int64_t j = i;
    std::vector<int32_t> local;
    while (j < n && ids[j] >= rc.plan.vocab0 && ids[j] < rc.plan.vocab1)
      local.push_back(static_cast<int32_t>(ids[j++] - rc.plan.vocab0));
    ops::copy_into(x.slice(0, i, j), ops::embedding(rc.w->embed_tokens, local, act));
    i = j;
  }
  rc.comm->all_reduce_sum(x);  // one rank's row + zeros: exact
  return x;
}

Tensor sharded_lightning(const RankContext& rc, int64_t layer, const Tensor& a, Tensor& state) {
  const LightningWeights& w = rc.w->layers[static_cast<size_t>(layer)].lightning;
  const TextConfig& c = rc.local_cfg;
  const int64_t n = a.dim(0), nh = c.num_attention_heads, dh = c.head_dim;
  const Tensor qkv =
      ops::activation(ops::linear(a, w.qkv_proj), c.hidden_act).view({n, nh, 3 * dh});
  const Tensor q = qkv.slice(2, 0, dh), k = qkv.slice(2, dh, 2 * dh),
               v = qkv.slice(2, 2 * dh, 3 * dh);
  const Tensor o = n == 1 ? ops::lightning_recurrent(q, k, v, w.slopes, state)
                          : ops::lightning_blockwise(q, k, v, w.slopes, state, c.block_size);
  // The output RMSNorm spans every head: gather the heads, then the same fused gated norm as
  // one device (lightning_attention) over the whole row, with this rank's gate columns in
  // place and zeros elsewhere; the norm is per element once the row statistic is known, so
  // the kept columns are exactly one device's values (bit for bit at tp 1, also in bf16).
  const int64_t all_dh = rc.cfg.num_attention_heads * dh;
  const Tensor all =
      rc.plan.size == 1
          ? o.view({n, nh * dh})
          : ranks_to_columns(rc.comm->all_gather(ops::clone(o.view({n, nh * dh}))), rc.plan.size);
  Tensor gate = ops::linear(a, w.output_gate);
  if (rc.plan.size > 1) {
    Tensor full = ops::empty({n, all_dh}, gate.dtype(), rc.dev);  // zeros
    ops::copy_into(full.slice(1, rc.plan.head0 * dh, rc.plan.head1 * dh), gate);
    gate = full;
  }
  Tensor y = ops::gated_rms_norm(all, w.norm, static_cast<float>(c.lightning_norm_eps), gate);
  if (rc.plan.size > 1) y = ops::clone(y.slice(1, rc.plan.head0 * dh, rc.plan.head1 * dh));
  Tensor out = ops::linear(y, w.out_proj);
  rc.comm->all_reduce_sum(out);
  return out;
}

Tensor sharded_softmax(const RankContext& rc, int64_t layer, const Tensor& a,
                       SequenceState& state) {
  Tensor out = softmax_attention(rc.w->layers[static_cast<size_t>(layer)].softmax, rc.local_cfg, a,
                                 layer, state);
  rc.comm->all_reduce_sum(out);
  return out;
}

Tensor sharded_moe(const RankContext& rc, int64_t layer, const Tensor& b) {
  const LayerWeights& w = rc.w->layers[static_cast<size_t>(layer)];
  if (rc.plan.expert0 == 0 && rc.plan.expert1 == rc.cfg.num_local_experts &&
      !rc.expert_range_always) {
    // Every expert on this rank (tp 1): one device's block, with its tuned bf16 kernels.
    Tensor out = moe_block(w, rc.cfg, b);
    if (rc.plan.size > 1) rc.comm->all_reduce_sum(out);
    return out;
  }
  if (rc.rank_moe == RankMoe::kernels) {
    // The quantized MoE kernels on this rank's experts: a bf16 partial (rounded once, as one
    // device rounds its sum once), reduced in f32 and rounded again after the sum.
    const Tensor part = ops::moe_expert_range(b, w.gate, rc.cfg.num_experts_per_tok, w.packed,
                                              rc.plan.expert0);
    if (part.defined()) {
      if (rc.plan.size == 1) return part;
      Tensor sum = ops::cast(part, DType::f32);
      rc.comm->all_reduce_sum(sum);
      return ops::cast(sum, b.dtype());
    }
  }
  const Tensor x = b.dtype() == DType::f32 ? b : ops::cast(b, DType::f32);
  const ops::MoeRouting full = ops::moe_route(ops::linear(x, w.gate), rc.cfg.num_experts_per_tok);
  // Expert ids -> this rank's local index, -1 (skipped) for other ranks' experts.
  const Tensor ids = ops::local_expert_ids(full.experts, rc.plan.expert0, rc.plan.expert1);
  const ops::MoeRouting local{rc.dev.is_cuda() ? ops::to_device(ids, rc.dev) : ids, full.weights};
  // Partial sums are reduced in f32 and rounded to the activation dtype once, after the sum,
  // as one device rounds its f32 expert sum once (bf16 partials would round N times).
  Tensor out = ops::moe_experts(x, local, w.experts);
  rc.comm->all_reduce_sum(out);
  return b.dtype() == DType::f32 ? out : ops::cast(out, b.dtype());
}

Tensor sharded_lm_head(const RankContext& rc, const Tensor& h) {
  const int64_t n = h.dim(0), per = rc.plan.vocab_per_rank;
  Tensor mine = ops::linear(h, rc.w->lm_head);
  if (mine.dtype() != DType::f32) mine = ops::cast(mine, DType::f32);
  if (mine.dim(1) < per) {  // the last rank's short range, padded to the common width
    Tensor padded = ops::empty({n, per}, DType::f32, rc.dev);
    ops::copy_into(padded.slice(1, 0, mine.dim(1)), mine);
    mine = padded;
  }
  const Tensor all = ranks_to_columns(rc.comm->all_gather(mine), rc.plan.size);
  return all.dim(1) == rc.cfg.vocab_size ? all : ops::clone(all.slice(1, 0, rc.cfg.vocab_size));
}

}  // namespace mvl::llm
