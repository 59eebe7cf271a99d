// Sharded weights: one rank's part of the text model (ShardPlan), cut from the full tensor
// table of TextWeights::load (zero-copy views into the mmapped safetensors). Row slices
// (qkv/q/k/v/gate projections, embedding and lm_head rows) and whole experts stay views on
// the CPU; column slices (out_proj, o_proj) are copied once. On a GPU each slice is uploaded
// on its own and its host staging dropped before the next, so the host never holds more than
// one slice per rank. Layout of every tensor: docs/parallel.md.
#pragma once

#include <cstdint>

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
};

// Rank p.rank's weights on dev. The lightning norm weight and every RMSNorm weight and
// router stay whole (replicated); the lightning slopes are cut to the rank's heads.
TextWeights shard_text_weights(const TextWeights& full, const TextConfig& cfg, const ShardPlan& p,
                               const ops::DeviceContext& dev, ShardLoadStats* stats = nullptr);

}  // namespace mvl::llm
