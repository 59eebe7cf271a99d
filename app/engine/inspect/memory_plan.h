// Memory per device for a `--tp N` plan (what `minimax-vl info --tp N` prints). The weights
// follow the sharded loader's own rules (llm/parallel/shard_rules.h, docs/parallel.md):
//   * attention matrices: tensor-parallel over heads (1/N each; KV-head projections replicate
//     when N exceeds the KV heads); the lightning output norm weight is replicated;
//   * experts: expert-parallel, E/N whole experts per device;
//   * embed_tokens / lm_head: split over the vocabulary (ceil(V/N) rows each);
//   * RMSNorm weights, routers, the vision tower and projector: replicated on every device;
//   * softmax KV cache (bf16, post-RoPE K and V) per token and the fp32 lightning state per
//     sequence, both for the heads a device owns;
//   * with prefill_chunk > 0, an estimate of one prefill pass's activations (prefill_activation_bytes);
//     with device_bytes > 0, the longest context that then fits next to kFitReserve.
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
  int64_t layers = 0;             // > 0: only the first N text layers and no vision half (the
                                  // slice `bench --path long --layers N` runs)
  int64_t prefill_chunk = 0;      // > 0: count one prefill pass of this many positions
  uint64_t device_bytes = 0;      // > 0: the memory of one device; the plan says how far a
                                  // context can go on it
};

struct DeviceMemory {
  int rank = 0;
  uint64_t weights = 0;          // bytes of weights this device holds
  uint64_t kv_cache = 0;         // sequences * context * kv_bytes_per_token
  uint64_t lightning_state = 0;  // sequences * lightning_bytes_per_sequence
  uint64_t activations = 0;      // one prefill pass (options.prefill_chunk), an estimate
  uint64_t total() const { return weights + kv_cache + lightning_state; }  // activations aside
};

struct MemoryPlan {
  MemoryPlanOptions options;
  int64_t heads_per_device = 0;     // attention heads (both kinds)
  int64_t kv_heads_per_device = 0;  // softmax KV heads (replicated when gpus > kv heads)
  int64_t experts_per_device = 0;
  uint64_t kv_bytes_per_token = 0;            // per device, all softmax layers
  uint64_t lightning_bytes_per_sequence = 0;  // per device, all lightning layers
  std::vector<DeviceMemory> devices;
  // With options.device_bytes: the context (per sequence, all sequences alike) whose KV cache
  // fits next to the weights, the lightning states, one prefill pass and kFitReserve on the
  // fullest device; 0 when not even the rest fits.
  int64_t max_context = 0;
  uint64_t max_total() const;
};

// Bytes of activations alive at once during one prefill pass of `chunk` positions on one
// device (bf16): the residual stream and norms, the attention projections, the MoE's routed
// copies and expert hidden rows, the lightning kernels' per-block states, the router logits.
// An estimate from the shapes, used by the plan above; the long bench prints the measured peak.
uint64_t prefill_activation_bytes(const llm::TextConfig& t, int64_t chunk, int gpus = 1);

// Throws Error{invalid_argument} when N does not split the heads, KV heads and experts,
// naming the counts that work. `dtypes` maps tensor names (released layout) to their
// checkpoint dtype; tensors not in it are assumed bf16, as in the release.
MemoryPlan plan_memory(const ModelConfig& cfg, const MemoryPlanOptions& opt,
                       const std::map<std::string, DType>& dtypes = {});

// "1.23 GiB", "456 MiB", "12 KiB", "17 B".
std::string format_bytes(uint64_t bytes);

// What CUDA device `device` has now; throws Error{device} "bench: cannot read the memory of GPU N"
// when it cannot be read (the benches' check before they make real-size weights).
struct GpuMemory {
  size_t free_bytes = 0, total_bytes = 0;
};
GpuMemory read_gpu_memory(int device);

}  // namespace mvl::engine
