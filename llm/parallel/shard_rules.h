// The sharding rule of every text tensor, read off its tensor-table entry (role and axes,
// llm/weights/tensor_table.h), never off its name: which part of it rank `plan.rank` holds.
//   embedding, lm_head          rows of the rank's vocabulary range (out_axis)
//   lightning_qkv               rows of its heads (per-head interleaved q,k,v: 3*dh rows a head)
//   lightning_gate, attn_q      rows of its heads
//   attn_k, attn_v              rows of its KV heads (one KV head, replicated, when N > KV heads)
//   lightning_out, attn_o       columns of its heads (in_axis); the partial sums are all-reduced
//   expert_w1/w2/w3             whole, for the rank's experts only; experts_w13/w2 (fused) the
//                               rank's experts along expert_axis
//   norms, lightning_norm,      replicated (the lightning norm spans every head: each rank
//   router                      norms the gathered head outputs; the router routes every token)
#pragma once

#include <cstdint>

#include "llm/parallel/shard_plan.h"
#include "llm/weights/tensor_table.h"

namespace mvl::llm {

struct TensorShard {
  bool held = true;   // false: another rank's expert (nothing of it here)
  int axis = -1;      // -1: the whole tensor (replicated); else the split axis
  int64_t begin = 0;  // [begin, end) along axis
  int64_t end = 0;
  int64_t local_expert = -1;  // expert_w1/w2/w3: the expert's index among the rank's experts
  // The slice's element count for a tensor of t's shape (0 when not held).
  int64_t numel(const TextTensor& t) const;
};

TensorShard shard_of(const TextTensor& t, const TextConfig& cfg, const ShardPlan& plan);

}  // namespace mvl::llm
