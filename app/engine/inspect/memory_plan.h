// Memory per device for a `--tp N` plan (what `minimax-vl info --tp N` prints). The weights
// follow the sharded loader's own rules (llm/parallel/shard_rules.h, docs/parallel.md):
//   * attention matrices: tensor-parallel over heads (1/N each; KV-head projections replicate
//     when N exceeds the KV heads); the lightning output norm weight is replicated;
//   * experts: expert-parallel, E/N whole experts per device;
//   * embed_tokens / lm_head: split over the vocabulary (ceil(V/N) rows each);
//   * RMSNorm weights, routers, the vision tower and projector: replicated on every device;
//   * softmax KV cache (bf16, post-RoPE K and V) per token and the fp32 lightning state per
//     sequence, both for the heads a device owns. Activations/workspace are not included.
// With a quantization scheme (--quant, llm/weights/quant_rule.h) each quantized slice counts
// its codes, scales and zero points (kernels/core/quant_format.h); the rest stays as stored.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "app/engine/loading/model_config.h"
#include "kernels/core/dtype.h"
#include "llm/weights/quant_rule.h"

namespace mvl::engine {

struct MemoryPlanOptions {
  int gpus = 1;
  int64_t context_tokens = 8192;  // KV cache length per sequence
  int64_t sequences = 1;          // concurrent sequences
  llm::QuantScheme quant = llm::QuantScheme::none;
};

struct DeviceMemory {
  int rank = 0;
  uint64_t weights = 0;          // bytes of weights this device holds
  uint64_t kv_cache = 0;         // sequences * context * kv_bytes_per_token
  uint64_t lightning_state = 0;  // sequences * lightning_bytes_per_sequence
  uint64_t total() const { return weights + kv_cache + lightning_state; }
};

struct MemoryPlan {
  MemoryPlanOptions options;
  int64_t heads_per_device = 0;     // attention heads (both kinds)
  int64_t kv_heads_per_device = 0;  // softmax KV heads (replicated when gpus > kv heads)
  int64_t experts_per_device = 0;
  uint64_t kv_bytes_per_token = 0;            // per device, all softmax layers
  uint64_t lightning_bytes_per_sequence = 0;  // per device, all lightning layers
  std::vector<DeviceMemory> devices;
  uint64_t max_total() const;
};

// Throws Error{invalid_argument} when N does not split the heads, KV heads and experts,
// naming the counts that work. `dtypes` maps tensor names (released layout) to their
// checkpoint dtype; tensors not in it are assumed bf16, as in the release.
MemoryPlan plan_memory(const ModelConfig& cfg, const MemoryPlanOptions& opt,
                       const std::map<std::string, DType>& dtypes = {});

// "1.23 GiB", "456 MiB", "12 KiB", "17 B".
std::string format_bytes(uint64_t bytes);

}  // namespace mvl::engine
