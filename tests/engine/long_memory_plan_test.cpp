// The long-context memory plan (`info --layers N -c T --ubatch-size C --device-memory G`):
// a layer slice drops the later layers and the vision half; the prefill pass's activations
// grow with the chunk, not the context; max_context is the largest context whose KV cache
// fits next to the weights, lightning states, one pass and kFitReserve (one more token does
// not); and on an 80 GiB card the bf16 8-layer slice does not fit while fp8 experts reach 1M.
#include <gtest/gtest.h>

#include "app/engine/inspect/memory_plan.h"
#include "app/engine/loading/memory_fit.h"
#include "kernels/core/error.h"

namespace mvl::engine {
namespace {

constexpr uint64_t kGiB = uint64_t{1} << 30;

MemoryPlan slice(int64_t layers, int64_t ctx, int64_t chunk, uint64_t device, llm::QuantScheme q) {
  MemoryPlanOptions o;
  o.layers = layers;
  o.context_tokens = ctx;
  o.prefill_chunk = chunk;
  o.device_bytes = device;
  o.quant = q;
  return plan_memory(ModelConfig::released(), o);
}

TEST(LongMemoryPlan, ASliceHoldsItsLayersOnly) {
  const MemoryPlan full = slice(0, 8192, 0, 0, llm::QuantScheme::none);
  const MemoryPlan eight = slice(8, 8192, 0, 0, llm::QuantScheme::none);
  EXPECT_LT(eight.devices[0].weights, full.devices[0].weights / 5);
  EXPECT_EQ(eight.kv_bytes_per_token, 2u * 8 * 128 * 2) << "one softmax layer in the first 8";
  EXPECT_EQ(full.kv_bytes_per_token, 10 * eight.kv_bytes_per_token);
  EXPECT_EQ(eight.lightning_bytes_per_sequence, 7u * 64 * 128 * 128 * 4);
  EXPECT_EQ(eight.devices[0].activations, 0u);
  EXPECT_THROW(slice(81, 8192, 0, 0, llm::QuantScheme::none), Error);
}

TEST(LongMemoryPlan, ActivationsFollowTheChunkNotTheContext) {
  const MemoryPlan a = slice(8, 8192, 8192, 0, llm::QuantScheme::none);
  const MemoryPlan b = slice(8, 1 << 20, 8192, 0, llm::QuantScheme::none);
  const MemoryPlan c = slice(8, 8192, 16384, 0, llm::QuantScheme::none);
  EXPECT_GT(a.devices[0].activations, 0u);
  EXPECT_EQ(a.devices[0].activations, b.devices[0].activations);
  EXPECT_NEAR(static_cast<double>(c.devices[0].activations) / a.devices[0].activations, 2.0, 0.01);
}

TEST(LongMemoryPlan, MaxContextIsTheLargestThatFits) {
  const uint64_t device = static_cast<uint64_t>(79.6 * kGiB);
  const MemoryPlan p = slice(8, 1 << 20, 16384, device, llm::QuantScheme::fp8_experts);
  ASSERT_GT(p.max_context, 1 << 20) << "fp8 experts: 1M fits an 80 GiB card";
  const DeviceMemory& d = p.devices[0];
  const uint64_t rest = d.weights + d.lightning_state + d.activations + kFitReserve;
  EXPECT_LE(rest + static_cast<uint64_t>(p.max_context) * p.kv_bytes_per_token, device);
  EXPECT_GT(rest + static_cast<uint64_t>(p.max_context + 1) * p.kv_bytes_per_token, device);
  EXPECT_EQ(slice(8, 1 << 20, 16384, device, llm::QuantScheme::none).max_context, 0)
      << "8 bf16 layers (~89 GiB) do not fit 80 GiB";
  EXPECT_EQ(slice(8, 1 << 20, 16384, 0, llm::QuantScheme::fp8_experts).max_context, 0) << "no device given";
}

}  // namespace
}  // namespace mvl::engine
