// `info --tp N`'s memory plan is the placement of the sharded loader: for the bundled tiny VL
// model, each device's planned text weights equal the bytes that rank's load actually placed
// (views and copies, checkpoint dtypes), for every N in {1, 2, 4} that splits it.
#include <gtest/gtest.h>

#include <cstdio>

#include "app/engine/inspect/memory_plan.h"
#include "app/engine/inspect/tensor_inventory.h"
#include "kernels/core/safetensors.h"
#include "llm/parallel/sharded_text_model.h"
#include "tests/support/test_util.h"

namespace mvl::engine {
namespace {

void check(const std::string& dir) {
  const ModelConfig cfg = ModelConfig::load_dir(dir);
  const Checkpoint ckpt = Checkpoint::open(dir);
  std::map<std::string, DType> dtypes;
  for (const auto& name : ckpt.names()) dtypes[name] = ckpt.info(name).dtype;
  uint64_t replicated = 0;  // vision + projector, in the plan on every device
  for (const auto& e : expected_tensors(cfg, CheckpointLayout::released))
    if (e.role == TensorRole::vision || e.role == TensorRole::projector)
      replicated += static_cast<uint64_t>(shape_numel(e.shape)) *
                    dtype_size(dtypes.count(e.name) ? dtypes[e.name] : DType::bf16);
  for (int n : {1, 2, 4}) {
    if (!llm::tp_size_problem(cfg.text, n).empty()) continue;
    const MemoryPlan plan = plan_memory(cfg, {n, 0, 0}, dtypes);
    std::vector<llm::ShardLoadStats> stats;
    llm::ShardedTextModel::load(ckpt, cfg.text, llm::TextWeightNaming::detect(ckpt), n, {}, &stats);
    for (int r = 0; r < n; ++r) {
      const uint64_t placed = stats[r].view_bytes + stats[r].copied_bytes;
      EXPECT_EQ(plan.devices[r].weights - replicated, placed)
          << dir << " tp " << n << " rank " << r;
      if (r == 0)
        std::printf("%s tp %d: rank 0 plan %llu B of text weights, placed %llu B\n", dir.c_str(), n,
                    static_cast<unsigned long long>(plan.devices[r].weights - replicated),
                    static_cast<unsigned long long>(placed));
    }
  }
}

TEST(MemoryPlanPlacement, PlanEqualsWhatTheShardedLoadPlaces) {
  check(test::source_path("assets/models/tiny-random"));
}

}  // namespace
}  // namespace mvl::engine
