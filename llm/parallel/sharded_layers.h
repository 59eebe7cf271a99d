// The decoder sub-blocks for one rank of a tensor-parallel group, on that rank's weights
// (sharded_weights.h) and state, with the collectives of docs/parallel.md:
//   embedding      rows of the rank's vocabulary range, zeros elsewhere; all-reduce [n, H]
//   lightning      own heads; all-gather of the head outputs [n, nh*dh / N] for the one
//                  RMSNorm over all heads; gate and out_proj columns local; all-reduce [n, H]
//   softmax        own query heads and their KV heads (layers.h code); all-reduce [n, H]
//   MoE            every rank routes every token; own experts only; all-reduce f32 [n, H]
//                  (tp 1: one device's block, tuned bf16 kernels included)
//   lm_head        own vocabulary rows; all-gather [n, ceil(V/N)] -> [n, V]
// Activations in and out are replicated: identical on every rank.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/comm/communicator.h"
#include "llm/layers/layers.h"
#include "llm/parallel/shard_plan.h"

namespace mvl::llm {

// What every sharded sub-block needs: the rank's plan, configs (full and local), weights,
// device and communicator.
struct RankContext {
  ShardPlan plan;
  TextConfig cfg;        // the full model
  TextConfig local_cfg;  // plan.local_config(cfg)
  const TextWeights* w = nullptr;
  ops::DeviceContext dev;
  comm::Communicator* comm = nullptr;
};

// act [ids.size(), H] (act = activation dtype), replicated. Throws for ids outside the vocabulary.
Tensor sharded_embedding(const RankContext& rc, const std::vector<int32_t>& ids, DType act);
Tensor sharded_lightning(const RankContext& rc, int64_t layer, const Tensor& a, Tensor& state);
Tensor sharded_softmax(const RankContext& rc, int64_t layer, const Tensor& a, SequenceState& state);
Tensor sharded_moe(const RankContext& rc, int64_t layer, const Tensor& b);
// h: act [n, H] -> f32 [n, V] on the rank's device, replicated.
Tensor sharded_lm_head(const RankContext& rc, const Tensor& h);

}  // namespace mvl::llm
