// ShardedTextModel: the text backbone split over N ranks (tensor-parallel attention,
// expert-parallel MoE, vocabulary-split embedding and lm_head; docs/parallel.md). Each rank
// has its weights, device and communicator, and a persistent worker thread; prefill and
// decode run every rank's share of the step in lockstep and return the gathered logits.
// CPU ranks talk through LocalComm (ranks as threads), CUDA ranks through NCCL.
//   auto m = ShardedTextModel::load(ckpt, cfg, naming, 2);   // 2 CPU ranks
//   ShardedState st = m.new_state();
//   Tensor last = m.prefill({Segment::tokens(ids)}, st);     // f32 [1, vocab], same as TextModel
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "kernels/comm/communicator.h"
#include "llm/model/text_model.h"
#include "llm/parallel/shard_plan.h"
#include "llm/parallel/sharded_layers.h"
#include "llm/parallel/sharded_weights.h"

namespace mvl::llm {

// One sequence over all ranks (those of this process): each rank's SequenceState holds only its
// heads' KV caches and lightning states. snapshot()/restore() rewind every rank together.
class ShardedState {
 public:
  struct Snapshot {
    std::vector<SequenceState::Snapshot> ranks;
    int64_t position = 0;
  };
  ShardedState() = default;
  explicit ShardedState(std::vector<SequenceState> ranks) : ranks_(std::move(ranks)) {}
  int64_t position() const { return ranks_.empty() ? 0 : ranks_[0].position(); }
  int tp() const { return static_cast<int>(ranks_.size()); }
  SequenceState& rank(int r) { return ranks_.at(static_cast<size_t>(r)); }
  const SequenceState& rank(int r) const { return ranks_.at(static_cast<size_t>(r)); }
  ShardedState clone() const;
  Snapshot snapshot() const;
  void restore(const Snapshot& s);

 private:
  std::vector<SequenceState> ranks_;
};

struct ShardedLoadOptions {
  // One device per rank; empty = every rank on the CPU (LocalComm). CUDA devices get an
  // NcclComm group (one process, one thread per GPU).
  std::vector<ops::DeviceContext> devices;
  // precision; quant (every scheme: load, random and from_weights quantize each rank's slices
  // as --tp 1 quantizes the whole tensors) and stored_quant (load: a `minimax-vl quantize`
  // checkpoint's codes and scales, cut per rank). CUDA graphs are not used by the sharded
  // path yet.
  TextLoadOptions text;
  // One rank per process: >= 0 = this process holds only rank `rank` of the tp ranks, on
  // devices[0] (or the CPU when devices is empty), talking through `join()`'s communicator
  // (comm::SocketComm, or NcclComm::create_rank); called once, after the weights are placed.
  int rank = -1;
  std::function<std::unique_ptr<comm::Communicator>()> join;
  // How a rank holding some of the experts runs its MoE share (sharded_layers.h RankMoe), and
  // whether a rank holding all of them (tp 1) does the same instead of one device's block.
  RankMoe rank_moe = kDefaultRankMoe;
  bool expert_range_always = false;
};

class ShardedTextModel {
 public:
  // Loads rank r's slices of ckpt for r in [0, tp): throws Error{invalid_argument} when tp
  // does not split cfg (naming the sizes that do). stats: one entry per rank, if given.
  static ShardedTextModel load(const Checkpoint& ckpt, const TextConfig& cfg,
                               const TextWeightNaming& naming, int tp,
                               const ShardedLoadOptions& opts = {},
                               std::vector<ShardLoadStats>* stats = nullptr);
  // Random weights as llm::random_text_weights(cfg, device, seed) makes them (quantized with
  // opts.text.quant), sharded as load() shards a checkpoint: each rank makes each full tensor it needs on its
  // device, keeps its slice and drops the rest (`bench --random-weights --tp N`).
  static ShardedTextModel random(const TextConfig& cfg, int tp, uint64_t seed,
                                 const ShardedLoadOptions& opts = {},
                                 std::vector<ShardLoadStats>* stats = nullptr);
  // The same from an already bound full tensor table (e.g. TextModel::weights()).
  static ShardedTextModel from_weights(const TextWeights& full, const TextConfig& cfg, int tp,
                                       const ShardedLoadOptions& opts = {},
                                       std::vector<ShardLoadStats>* stats = nullptr);

  int tp() const;           // ranks of the group
  int local_ranks() const;  // ranks held by this process (tp, or 1 with one rank per process)
  const TextConfig& config() const;
  // Of the i-th rank this process holds (i < local_ranks(); = the rank unless one per process).
  const ShardPlan& plan(int i) const;
  const TextWeights& weights(int i) const;
  DType activation_dtype() const;
  ShardedState new_state() const;

  // As TextModel::prefill/decode; logits live on rank 0's device. A trace sees TextModel's
  // names and, like TextModel's, runs the unfused residual+norm steps.
  Tensor prefill(const std::vector<Segment>& segments, ShardedState& state,
                 const PrefillOptions& opts = {}) const;
  Tensor decode(int32_t token, ShardedState& state,
                const TraceFn& trace = {}) const;  // f32 [vocab]

 private:
  using RankLoader = std::function<TextWeights(int rank, const ShardPlan&,
                                               const ops::DeviceContext&, ShardLoadStats*)>;
  static ShardedTextModel build(const RankLoader& load_rank, const TextConfig& cfg, int tp,
                                const ShardedLoadOptions& opts, std::vector<ShardLoadStats>* stats);
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace mvl::llm
