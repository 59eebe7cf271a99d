// The decoder sub-blocks for one rank of a tensor-parallel group, on that rank's weights
// (sharded_weights.h) and state, with the collectives of docs/parallel.md:
//   embedding      rows of the rank's vocabulary range, zeros elsewhere; all-reduce [n, H]
//   lightning      own heads; all-gather of the head outputs [n, nh*dh / N] for the one
//                  RMSNorm over all heads; gate and out_proj columns local; all-reduce [n, H]
//   softmax        own query heads and their KV heads (layers.h code); all-reduce [n, H]
//   MoE            every rank routes every token; own experts only; all-reduce f32 [n, H]
//                  (tp 1: one device's block, tuned bf16 kernels included; a rank of tp > 1:
//                  RankMoe below)
//   lm_head        own vocabulary rows; all-gather [n, ceil(V/N)] -> [n, V]
// Activations in and out are replicated: identical on every rank.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/comm/communicator.h"
#include "llm/layers/layers.h"
#include "llm/parallel/shard_plan.h"

namespace mvl::llm {

// How a rank that holds only some of the experts runs its MoE share.
enum class RankMoe : uint8_t {
  // moe_route over every expert, then ops::moe_experts in f32 with the other ranks' experts
  // skipped: any backend, the CPU reference; on a GPU each held quantized expert is
  // dequantized on every call (slow), plain bf16 experts run the generic f32 kernels.
  generic,
  // GPU, bf16 activations, quantized packed experts, top-2: ops::moe_expert_range, the
  // one-device quantized MoE kernels on the rank's expert range (decode: the grouped kernels
  // over the routing narrowed to the held experts); the generic path for anything else.
  kernels,
};
// The default of ShardedLoadOptions::rank_moe: the first (generic) path until
// tools/device/tpquant_check.sh shows the kernels' parity and time on the GPU (flip it here).
inline constexpr RankMoe kDefaultRankMoe = RankMoe::kernels;

// What every sharded sub-block needs: the rank's plan, configs (full and local), weights,
// device and communicator.
struct RankContext {
  ShardPlan plan;
  TextConfig cfg;        // the full model
  TextConfig local_cfg;  // plan.local_config(cfg)
  const TextWeights* w = nullptr;
  ops::DeviceContext dev;
  comm::Communicator* comm = nullptr;
  RankMoe rank_moe = kDefaultRankMoe;
  // A rank holding every expert (tp 1) runs the expert-range path too, not one device's block
  // (tests and `bench --rank-moe` time on one GPU what the ranks of tp > 1 run).
  bool expert_range_always = false;
};

// act [ids.size(), H] (act = activation dtype), replicated. Throws for ids outside the vocabulary.
Tensor sharded_embedding(const RankContext& rc, const std::vector<int32_t>& ids, DType act);
Tensor sharded_lightning(const RankContext& rc, int64_t layer, const Tensor& a, Tensor& state);
Tensor sharded_softmax(const RankContext& rc, int64_t layer, const Tensor& a, SequenceState& state);
Tensor sharded_moe(const RankContext& rc, int64_t layer, const Tensor& b);
// h: act [n, H] -> f32 [n, V] on the rank's device, replicated.
Tensor sharded_lm_head(const RankContext& rc, const Tensor& h);

}  // namespace mvl::llm
