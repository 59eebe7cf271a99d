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
// From a checkpoint (shape and dtype checked against the entry). stored: the scheme a
// `minimax-vl quantize` checkpoint was written in; the tensors it quantizes are read as their
// stored codes and scales (read_quantized_weight, zero-copy views).
TensorSource checkpoint_source(const Checkpoint& ckpt, QuantScheme stored = QuantScheme::none);

// Rank p.rank's weights on dev, walking the table of cfg under `naming`. A source tensor that
// is already quantized (stored codes) is cut as it is: whole code rows for a split along the
// leading axis, the codes' columns with each channel's scale whole for a split along the
// input axis. With a quantization scheme `quant` (quant_rule.h) the plain ones are quantized
// exactly as TextWeights::load quantizes them, so every rank's slice equals the same slice of
// --tp 1's quantized weights: experts (whole under EP) and column-parallel projections are
// quantized as sliced; row-parallel ones (o_proj, out_proj: split along the input axis) are
// quantized whole and then cut. Experts are then packed by pack_experts like the unsharded
// upload.
TextWeights shard_text_weights(const TensorSource& source, const TextConfig& cfg,
                               const TextWeightNaming& naming, const ShardPlan& p,
                               const ops::DeviceContext& dev, ShardLoadStats* stats = nullptr,
                               QuantScheme quant = QuantScheme::none);
// The same from an already bound full table (e.g. random weights): per-expert entries.
// A quantized table is cut as stored; quant quantizes a plain one as above.
TextWeights shard_text_weights(const TextWeights& full, const TextConfig& cfg, const ShardPlan& p,
                               const ops::DeviceContext& dev, ShardLoadStats* stats = nullptr,
                               QuantScheme quant = QuantScheme::none);

}  // namespace mvl::llm
