// check_model_fits: the one-GPU (or host) memory plan against what the device has.
#include "app/engine/loading/memory_check.h"

#include "app/engine/inspect/memory_plan.h"
#include "kernels/core/error.h"
#include "kernels/ops/memory_info.h"

namespace mvl::engine {

namespace {
constexpr int64_t kCheckedContext = 8192;  // the cache counted when no -c cap is given
}

void check_model_fits(const ModelConfig& cfg, const EngineOptions& opts) {
  const bool gpu = opts.backend == Backend::cuda;
  const Device dev = gpu ? Device::cuda(opts.device) : Device::cpu();
  const ops::MemoryInfo mem = ops::memory_info(dev);
  if (!mem.known) return;
  MemoryPlanOptions po;
  po.gpus = 1;
  po.context_tokens = opts.max_context > 0 ? opts.max_context : kCheckedContext;
  po.sequences = 1;
  po.quant = opts.quant;
  const MemoryPlan plan = plan_memory(cfg, po);
  const DeviceMemory& need = plan.devices.at(0);
  // A GPU must hold everything in its free memory; the host keeps the mmapped weights in
  // its page cache, which can use all of RAM.
  const uint64_t have = gpu ? mem.free_bytes : mem.total_bytes;
  if (need.total() <= have) return;
  throw Error(
      ErrorCategory::out_of_memory,
      fmt::format(
          "the model needs {} ({} B: {} of {} weights + {} of cache for {} tokens) but {} has "
          "{} ({} B){}; `minimax-vl info -m DIR --gpus N` shows the multi-GPU memory plan",
          format_bytes(need.total()), need.total(), format_bytes(need.weights),
          llm::quant_scheme_name(opts.quant), format_bytes(need.kv_cache + need.lightning_state),
          po.context_tokens, dev.str(), format_bytes(have), have, gpu ? " free" : " of RAM"));
}

}  // namespace mvl::engine
