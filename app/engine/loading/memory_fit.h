// Which GPU counts of which cards hold the model, per quantization scheme and context length
// (what `minimax-vl info --quant FORMAT` prints under the memory plan). Each figure is the
// largest per-GPU total of plan_memory (weights as quant_rule.h stores them + KV cache +
// lightning state, one sequence); a card fits when that total leaves kFitReserve of its memory
// for the CUDA context, workspaces and activations, which the plan does not count.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "app/engine/inspect/memory_plan.h"

namespace mvl::engine {

struct GpuCard {
  const char* name;   // "H100-80GB"
  uint64_t capacity;  // bytes nvidia-smi reports as total
};
// H100-80GB (81,559 MiB) and H200-141GB (143,771 MiB), as nvidia-smi reports them.
const std::vector<GpuCard>& gpu_cards();
constexpr uint64_t kFitReserve = uint64_t{4} << 30;  // 4 GiB per GPU left unplanned
bool card_fits(const GpuCard& card, uint64_t per_gpu_total);

struct FitRow {
  llm::QuantScheme quant = llm::QuantScheme::none;
  int64_t context_tokens = 0;
  std::vector<int> gpu_counts;        // counts on one host (1..8) that split the model
  std::vector<uint64_t> per_gpu;      // max per-GPU total at each of gpu_counts
  std::vector<std::vector<int>> fit;  // per gpu_cards() entry: the counts that fit
};

// Rows for every scheme x context (8K, 64K, 1M by default).
std::vector<FitRow> fit_table(const ModelConfig& cfg,
                              const std::vector<int64_t>& contexts = {8192, 65536, 1048576},
                              int max_gpus = 8);

std::string context_label(int64_t tokens);  // "8K", "64K", "1M", "1000"

}  // namespace mvl::engine
