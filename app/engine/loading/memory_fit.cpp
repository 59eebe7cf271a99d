// fit_table: plan_memory per scheme and GPU count (weights once, KV and state per context).
#include "app/engine/loading/memory_fit.h"

#include <algorithm>

#include "kernels/core/error.h"
#include "llm/parallel/shard_plan.h"

namespace mvl::engine {

const std::vector<GpuCard>& gpu_cards() {
  static const std::vector<GpuCard> cards = {{"H100-80GB", uint64_t{81559} << 20},
                                             {"H200-141GB", uint64_t{143771} << 20}};
  return cards;
}

bool card_fits(const GpuCard& card, uint64_t total) {
  return total + kFitReserve <= card.capacity;
}

std::string context_label(int64_t t) {
  if (t >= 1048576 && t % 1048576 == 0) return fmt::format("{}M", t / 1048576);
  if (t >= 1024 && t % 1024 == 0) return fmt::format("{}K", t / 1024);
  return std::to_string(t);
}

std::vector<FitRow> fit_table(const ModelConfig& cfg, const std::vector<int64_t>& contexts,
                              int max_gpus) {
  std::vector<int> counts;
  for (int n = 1; n <= max_gpus; ++n)
    if (llm::tp_size_problem(cfg.text, n).empty()) counts.push_back(n);
  std::vector<FitRow> rows;
  for (const auto q : llm::all_quant_schemes()) {
    std::vector<MemoryPlan> plans;  // at context 0: weights + lightning state only
    for (int n : counts) plans.push_back(plan_memory(cfg, {n, 0, 1, q}));
    for (const int64_t ctx : contexts) {
      FitRow r;
      r.quant = q;
      r.context_tokens = ctx;
      r.gpu_counts = counts;
      r.fit.resize(gpu_cards().size());
      for (size_t i = 0; i < counts.size(); ++i) {
        uint64_t m = 0;
        for (const auto& d : plans[i].devices)
          m = std::max(m, d.total() + static_cast<uint64_t>(ctx) * plans[i].kv_bytes_per_token);
        r.per_gpu.push_back(m);
        for (size_t c = 0; c < gpu_cards().size(); ++c)
          if (card_fits(gpu_cards()[c], m)) r.fit[c].push_back(counts[i]);
      }
      rows.push_back(std::move(r));
    }
  }
  return rows;
}

}  // namespace mvl::engine
