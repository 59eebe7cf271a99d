// The `--gpus N` memory plan: assigns every expected tensor's bytes to devices by the rules
// in memory_plan.h, then adds the per-device KV cache and lightning state (spec §6.8).
#include "app/engine/memory_plan.h"

#include <algorithm>

#include "app/engine/tensor_inventory.h"
#include "kernels/core/error.h"

namespace mvl::engine {

uint64_t MemoryPlan::max_total() const {
  uint64_t m = 0;
  for (const auto& d : devices) m = std::max(m, d.total());
  return m;
}

std::string format_bytes(uint64_t b) {
  const double v = static_cast<double>(b);
  if (b >= (uint64_t{1} << 30)) return fmt::format("{:.2f} GiB", v / (1u << 30));
  if (b >= (uint64_t{1} << 20)) return fmt::format("{:.1f} MiB", v / (1u << 20));
  if (b >= (uint64_t{1} << 10)) return fmt::format("{:.1f} KiB", v / (1u << 10));
  return fmt::format("{} B", b);
}

MemoryPlan plan_memory(const ModelConfig& cfg, const MemoryPlanOptions& opt,
                       const std::map<std::string, DType>& dtypes) {
  const auto& t = cfg.text;
  const int n = opt.gpus;
  const int64_t heads = t.num_attention_heads, experts = t.num_local_experts, kv = t.num_key_value_heads;
  if (n < 1 || heads % n != 0 || experts % n != 0) {
    std::string ok;
    for (int64_t g = 1; g <= std::min(heads, experts); ++g)
      if (heads % g == 0 && experts % g == 0) ok += (ok.empty() ? "" : ", ") + std::to_string(g);
    throw Error(ErrorCategory::invalid_argument,
                fmt::format("--gpus {}: the plan splits {} attention heads and {} experts evenly over the GPUs; "
                            "use one of {}",
                            n, heads, experts, ok));
  }
  MVL_CHECK(opt.context_tokens >= 0 && opt.sequences >= 0, invalid_argument,
            "context tokens and sequences must be non-negative");
  MemoryPlan p;
  p.options = opt;
  p.heads_per_device = heads / n;
  p.kv_heads_per_device = std::max<int64_t>(1, kv / n);  // kv % n != 0 only when n > kv (replicate)
  p.experts_per_device = experts / n;
  p.devices.resize(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) p.devices[static_cast<size_t>(i)].rank = i;

  auto elem = [&](const std::string& name) -> uint64_t {
    auto it = dtypes.find(name);
    return it == dtypes.end() ? 2 : dtype_size(it->second);
  };
  for (const auto& e : expected_tensors(cfg, CheckpointLayout::released)) {
    const uint64_t bytes = static_cast<uint64_t>(shape_numel(e.shape)) * elem(e.name);
    const bool kv_proj = e.name.find("self_attn.k_proj") != std::string::npos ||
                         e.name.find("self_attn.v_proj") != std::string::npos;
    for (auto& d : p.devices) {
      switch (e.role) {
        case TensorRole::expert:
          if (e.expert / p.experts_per_device == d.rank) d.weights += bytes;
          break;
        case TensorRole::attention:
          d.weights += kv_proj && n > kv ? bytes / static_cast<uint64_t>(kv) : bytes / static_cast<uint64_t>(n);
          break;
        case TensorRole::embedding:
        case TensorRole::lm_head: {
          const int64_t rows = e.shape[0], per = (rows + n - 1) / n;
          const int64_t mine = std::clamp<int64_t>(rows - per * d.rank, 0, per);
          d.weights += bytes / static_cast<uint64_t>(rows) * static_cast<uint64_t>(mine);
          break;
        }
        default: d.weights += bytes; break;  // norms, routers, vision, projector: replicated
      }
    }
  }
  // Softmax KV cache: K and V, bf16, per KV head owned. Lightning: fp32 [d, d] per head owned.
  p.kv_bytes_per_token = static_cast<uint64_t>(t.num_softmax_layers() * 2 * p.kv_heads_per_device * t.head_dim * 2);
  p.lightning_bytes_per_sequence =
      static_cast<uint64_t>(t.num_lightning_layers() * p.heads_per_device * t.head_dim * t.head_dim * 4);
  for (auto& d : p.devices) {
    d.kv_cache = static_cast<uint64_t>(opt.sequences * opt.context_tokens) * p.kv_bytes_per_token;
    d.lightning_state = static_cast<uint64_t>(opt.sequences) * p.lightning_bytes_per_sequence;
  }
  return p;
}

}  // namespace mvl::engine
