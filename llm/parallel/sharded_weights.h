// Sharded weights: one rank's part of the text model (ShardPlan), read tensor by tensor off
// the text tensor table with each tensor's rule (shard_rules.h). From a checkpoint each rank
// reads only its slices of the mmapped safetensors: on the CPU row slices and whole experts
// stay views into the mapping and column slices (out_proj, o_proj) are copied once; on a GPU
// each slice is uploaded on its own and its host staging dropped before the next, so the
// host never holds more than one slice per rank. Layout of every tensor: docs/parallel.md.
#pragma once

#include <cstdint>
#include <functional>

#include "kernels/ops/device.h"
#include "llm/parallel/shard_plan.h"
#include "llm/weights/text_weights.h"

namespace mvl::llm {

// Byte counts of one rank's load (tests measure the host side with them).
struct ShardLoadStats {
  uint64_t view_bytes = 0;     // CPU: weights left as views into the mapped files (no copy)
  uint64_t copied_bytes = 0;   // weights copied into rank-owned memory (host heap or device)
  uint64_t staging_peak = 0;   // GPU: the most host staging bytes alive at once
  uint64_t largest_slice = 0;  // the largest single slice placed (bytes, checkpoint dtype)
  uint64_t tensors_read = 0;   // table entries this rank took a slice of (or whole)
};

// The full tensor of a table entry (a view: nothing is read until a slice is placed).
using TensorSource = std::function<Tensor(const TextTensor&)>;
// From a checkpoint (shape and dtype checked against the entry).
TensorSource checkpoint_source(const Checkpoint& ckpt);

// Rank p.rank's weights on dev, walking the table of cfg under `naming`. With a quantization
// scheme (quant_rule.h) each held expert is quantized on the host exactly as TextWeights::load
// quantizes it (whole experts under EP: the same codes and scales as --tp 1), then packed by
// pack_experts like the unsharded upload. Only the experts-only schemes are sharded; one that
// quantizes an attention projection (int8) throws Error{unsupported}.
TextWeights shard_text_weights(const TensorSource& source, const TextConfig& cfg,
                               const TextWeightNaming& naming, const ShardPlan& p,
                               const ops::DeviceContext& dev, ShardLoadStats* stats = nullptr,
                               QuantScheme quant = QuantScheme::none);
// Whether shard_text_weights shards scheme s (the experts-only schemes and none).
bool quant_scheme_sharded(QuantScheme s);
// The same from an already bound full table (e.g. random weights): per-expert entries.
TextWeights shard_text_weights(const TextWeights& full, const TextConfig& cfg, const ShardPlan& p,
                               const ops::DeviceContext& dev, ShardLoadStats* stats = nullptr);

}  // namespace mvl::llm
