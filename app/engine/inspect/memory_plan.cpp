// The `--tp N` memory plan: assigns every text tensor's bytes to devices by the same rules the
// sharded loader places them with (llm/parallel/shard_rules.h, on the text tensor table), the
// vision tower and projector (the vision tensor table) replicated, then adds the per-device KV
// cache and lightning state (spec §6.8). --quant formats count as quant_rule.h stores them.
#include "app/engine/inspect/memory_plan.h"

#include <algorithm>

#include <cmath>

#include "app/engine/loading/memory_fit.h"
#include "kernels/core/error.h"
#include "kernels/ops/device.h"
#include "llm/parallel/shard_rules.h"
#include "llm/weights/tensor_table.h"
#include "vision/model/tensor_table.h"

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

uint64_t prefill_activation_bytes(const llm::TextConfig& t, int64_t chunk, int gpus) {
  const double c = static_cast<double>(chunk), H = t.hidden_size, I = t.intermediate_size;
  const double k = t.num_experts_per_tok, g = std::max(gpus, 1);
  const double att = static_cast<double>(t.num_attention_heads * t.head_dim) / g;  // heads owned
  const double residual = 8 * H;               // x, normed input, attention out, sums, norms
  const double attention = 6 * att;            // q|k|v (or qkv), gate, core output, projection
  const double moe = k * (2 * H + 3 * I / g);  // routed copies in and out, gate|up and h rows
  const double blocks = std::ceil(c / static_cast<double>(std::max<int64_t>(t.block_size, 1)));
  const double states = blocks * att * static_cast<double>(t.head_dim) * 4;  // f32 per block
  return static_cast<uint64_t>(c * (residual + attention + moe) * 2 + c * t.num_local_experts * 4 + states);
}

MemoryPlan plan_memory(const ModelConfig& full, const MemoryPlanOptions& opt,
                       const std::map<std::string, DType>& dtypes) {
  MVL_CHECK(opt.layers >= 0 && opt.layers <= full.text.num_hidden_layers, invalid_argument,
            "--layers {}: the config has {} text layers", opt.layers, full.text.num_hidden_layers);
  ModelConfig cfg = full;
  if (opt.layers > 0) {
    cfg.text.num_hidden_layers = opt.layers;
    cfg.text.layer_types.resize(static_cast<size_t>(opt.layers));
    cfg.has_vision = false;
  }
  const auto& t = cfg.text;
  const int n = opt.gpus;
  const std::string why = llm::tp_size_problem(t, n);
  MVL_CHECK(why.empty(), invalid_argument, "--tp {}: {}; use one of {}", n, why,
            llm::valid_tp_sizes(t));
  MVL_CHECK(opt.context_tokens >= 0 && opt.sequences >= 0, invalid_argument,
            "context tokens and sequences must be non-negative");
  MemoryPlan p;
  p.options = opt;
  std::vector<llm::ShardPlan> ranks;
  for (int i = 0; i < n; ++i) ranks.push_back(llm::ShardPlan::make(t, i, n));
  p.heads_per_device = ranks[0].heads();
  p.kv_heads_per_device = ranks[0].kv_heads();
  p.experts_per_device = ranks[0].experts();
  p.devices.resize(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) p.devices[static_cast<size_t>(i)].rank = i;

  auto elem = [&](const std::string& name) -> uint64_t {
    auto it = dtypes.find(name);
    return it == dtypes.end() ? 2 : dtype_size(it->second);
  };
  // The text half: each rank's slice of each tensor, by the loader's own rule.
  // A quantized slice counts its codes, scales and zero points (quant_rule.h on the same entry).
  llm::for_each_text_tensor(t, llm::TextWeightNaming::released_vl(), [&](const llm::TextTensor& e) {
    const WeightFormat f = llm::quant_format_of(e, opt.quant);
    for (int i = 0; i < n; ++i) {
      const llm::TensorShard s = llm::shard_of(e, t, ranks[static_cast<size_t>(i)]);
      if (!s.held) continue;
      Shape slice = e.shape;
      if (s.axis >= 0) slice[static_cast<size_t>(s.axis)] = s.end - s.begin;
      p.devices[static_cast<size_t>(i)].weights +=
          f == WeightFormat::plain ? static_cast<uint64_t>(s.numel(e)) * elem(e.name)
                                   : quantized_bytes(slice, e.in_axis, f);
    }
  });
  // The vision tower and projector run on every rank (replicated).
  if (cfg.has_vision)
    vision::for_each_vision_tensor(
        cfg.vision, vision::VisionWeightNames::released(), t.hidden_size,
        [&](const vision::VisionTensor& e) {
          for (auto& d : p.devices) d.weights += static_cast<uint64_t>(shape_numel(e.shape)) * elem(e.name);
        });
  // Softmax KV cache: K and V, bf16, per KV head owned. Lightning: fp32 [d, d] per head owned.
  p.kv_bytes_per_token =
      static_cast<uint64_t>(t.num_softmax_layers() * 2 * p.kv_heads_per_device * t.head_dim * 2);
  p.lightning_bytes_per_sequence = static_cast<uint64_t>(
      t.num_lightning_layers() * p.heads_per_device * t.head_dim * t.head_dim * 4);
  for (auto& d : p.devices) {
    d.kv_cache = static_cast<uint64_t>(opt.sequences * opt.context_tokens) * p.kv_bytes_per_token;
    d.lightning_state = static_cast<uint64_t>(opt.sequences) * p.lightning_bytes_per_sequence;
    if (opt.prefill_chunk > 0) d.activations = prefill_activation_bytes(t, opt.prefill_chunk, n);
  }
  if (opt.device_bytes > 0 && opt.sequences > 0) {
    uint64_t used = 0;
    for (const auto& d : p.devices) used = std::max(used, d.weights + d.lightning_state + d.activations);
    used += kFitReserve;
    const uint64_t per = p.kv_bytes_per_token * static_cast<uint64_t>(opt.sequences);
    p.max_context = opt.device_bytes <= used || per == 0
                        ? 0
                        : static_cast<int64_t>((opt.device_bytes - used) / per);
  }
  return p;
}

GpuMemory read_gpu_memory(int device) {
  GpuMemory m;
  MVL_CHECK(ops::cuda_device_memory(device, &m.free_bytes, &m.total_bytes), device,
            "bench: cannot read the memory of GPU {}", device);
  return m;
}

}  // namespace mvl::engine
