// shard_of: the per-role table of shard_rules.h.
#include "llm/parallel/shard_rules.h"

#include "kernels/core/error.h"

namespace mvl::llm {

int64_t TensorShard::numel(const TextTensor& t) const {
  if (!held) return 0;
  int64_t n = 1;
  for (int d = 0; d < static_cast<int>(t.shape.size()); ++d)
    n *= d == axis ? end - begin : t.shape[d];
  return n;
}

TensorShard shard_of(const TextTensor& t, const TextConfig& cfg, const ShardPlan& p) {
  const int64_t dh = cfg.head_dim;
  TensorShard s;
  auto split = [&](int axis, int64_t b, int64_t e) {
    MVL_ASSERT(axis >= 0);
    s.axis = axis;
    s.begin = b;
    s.end = e;
  };
  switch (t.role) {
    case TextRole::embedding:
    case TextRole::lm_head:
      split(t.out_axis, p.vocab0, p.vocab1);
      break;
    case TextRole::lightning_qkv:
      split(t.out_axis, p.head0 * 3 * dh, p.head1 * 3 * dh);
      break;
    case TextRole::lightning_gate:
    case TextRole::attn_q:
      split(t.out_axis, p.head0 * dh, p.head1 * dh);
      break;
    case TextRole::attn_k:
    case TextRole::attn_v:
      split(t.out_axis, p.kv0 * dh, p.kv1 * dh);
      break;
    case TextRole::lightning_out:
    case TextRole::attn_o:
      split(t.in_axis, p.head0 * dh, p.head1 * dh);
      break;
    case TextRole::expert_w1:
    case TextRole::expert_w2:
    case TextRole::expert_w3:
      s.held = t.expert >= p.expert0 && t.expert < p.expert1;
      s.local_expert = s.held ? t.expert - p.expert0 : -1;
      break;
    case TextRole::experts_w13:
    case TextRole::experts_w2:
      split(t.expert_axis, p.expert0, p.expert1);
      break;
    case TextRole::final_norm:
    case TextRole::input_norm:
    case TextRole::post_attention_norm:
    case TextRole::lightning_norm:
    case TextRole::router:
      break;
  }
  return s;
}

}  // namespace mvl::llm
