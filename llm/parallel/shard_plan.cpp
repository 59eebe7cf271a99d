// ShardPlan: the per-rank ranges of heads, KV heads, experts and vocabulary rows.
#include "llm/parallel/shard_plan.h"

#include <algorithm>

#include "kernels/core/error.h"

namespace mvl::llm {

std::string tp_size_problem(const TextConfig& cfg, int n) {
  const int64_t nh = cfg.num_attention_heads, nkv = cfg.num_key_value_heads,
                E = cfg.num_local_experts;
  if (n < 1) return fmt::format("the tensor-parallel size must be at least 1, got {}", n);
  if (nh % n != 0) return fmt::format("{} attention heads do not split over {} ranks", nh, n);
  if (nkv % n != 0 && n % nkv != 0)
    return fmt::format("{} KV heads neither split over {} ranks nor divide {} (to be replicated)",
                       nkv, n, n);
  if (E % n != 0) return fmt::format("{} experts do not split over {} ranks", E, n);
  const int64_t per = (cfg.vocab_size + n - 1) / n;
  if (per * (n - 1) >= cfg.vocab_size)
    return fmt::format("{} vocabulary rows leave rank {} none at {} rows per rank", cfg.vocab_size,
                       n - 1, per);
  return "";
}

std::string valid_tp_sizes(const TextConfig& cfg, int max_size) {
  std::string ok;
  for (int n = 1; n <= max_size; ++n)
    if (tp_size_problem(cfg, n).empty()) ok += (ok.empty() ? "" : ", ") + std::to_string(n);
  return ok;
}

ShardPlan ShardPlan::make(const TextConfig& cfg, int rank, int size) {
  const std::string why = tp_size_problem(cfg, size);
  MVL_CHECK(why.empty(), invalid_argument, "--tp {}: {}; use one of {}", size, why,
            valid_tp_sizes(cfg));
  MVL_CHECK(rank >= 0 && rank < size, invalid_argument, "rank {} outside a group of {}", rank,
            size);
  ShardPlan p;
  p.rank = rank;
  p.size = size;
  const int64_t nh = cfg.num_attention_heads, nkv = cfg.num_key_value_heads,
                E = cfg.num_local_experts;
  const int64_t hpr = nh / size;
  p.head0 = rank * hpr;
  p.head1 = p.head0 + hpr;
  const int64_t group = nh / nkv;  // query heads per KV head
  if (nkv % size == 0) {
    p.kv0 = rank * (nkv / size);
    p.kv1 = p.kv0 + nkv / size;
  } else {  // size is a multiple of nkv: this rank's heads all read one KV head
    p.kv0 = p.head0 / group;
    p.kv1 = p.kv0 + 1;
  }
  const int64_t epr = E / size;
  p.expert0 = rank * epr;
  p.expert1 = p.expert0 + epr;
  p.vocab_per_rank = (cfg.vocab_size + size - 1) / size;
  p.vocab0 = std::min<int64_t>(cfg.vocab_size, rank * p.vocab_per_rank);
  p.vocab1 = std::min<int64_t>(cfg.vocab_size, p.vocab0 + p.vocab_per_rank);
  return p;
}

TextConfig ShardPlan::local_config(const TextConfig& cfg) const {
  TextConfig c = cfg;
  c.num_attention_heads = heads();
  c.num_key_value_heads = kv_heads();
  c.num_local_experts = experts();
  c.num_experts_per_tok = std::min(cfg.num_experts_per_tok, experts());
  return c;
}

}  // namespace mvl::llm
