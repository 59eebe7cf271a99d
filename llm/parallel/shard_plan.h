// ShardPlan: which part of the text model one rank of an N-way tensor-parallel group owns
// (docs/parallel.md): a contiguous range of attention heads (both kinds), the softmax KV
// heads those query heads read (split when N divides the KV heads, replicated when the KV
// heads divide N), a contiguous range of whole experts, and a contiguous range of vocabulary
// rows (ceil(V/N) each, the last rank may hold fewer). The same ranges drive the weight
// slices, the per-rank SequenceState and the memory plan.
#pragma once

#include <cstdint>
#include <string>

#include "llm/config/text_config.h"

namespace mvl::llm {

struct ShardPlan {
  int rank = 0, size = 1;
  int64_t head0 = 0, head1 = 0;  // attention heads [head0, head1) (lightning and softmax queries)
  int64_t kv0 = 0, kv1 = 0;      // softmax KV heads [kv0, kv1)
  int64_t expert0 = 0, expert1 = 0;  // experts [expert0, expert1)
  int64_t vocab0 = 0, vocab1 = 0;    // embedding / lm_head rows [vocab0, vocab1)
  int64_t vocab_per_rank = 0;        // ceil(V / size): the padded width of each rank's logits

  // Throws Error{invalid_argument} when `size` does not split cfg, naming the sizes that do.
  static ShardPlan make(const TextConfig& cfg, int rank, int size);
  int64_t heads() const { return head1 - head0; }
  int64_t kv_heads() const { return kv1 - kv0; }
  int64_t experts() const { return expert1 - expert0; }
  int64_t vocab() const { return vocab1 - vocab0; }
  // cfg with this rank's head, KV-head and expert counts: what its SequenceState and the
  // unsharded layer code (softmax attention) see.
  TextConfig local_config(const TextConfig& cfg) const;
};

// Why `size` cannot split cfg ("" when it can).
std::string tp_size_problem(const TextConfig& cfg, int size);
// "1, 2, 4": the tensor-parallel sizes that split cfg (up to max_size).
std::string valid_tp_sizes(const TextConfig& cfg, int max_size = 64);

}  // namespace mvl::llm
