// The quantization rule on the tensor table and the --quant memory plan: the official int8
// recipe leaves embed_tokens, lm_head and the routers in bf16; the experts-only schemes touch
// experts only; the released model's int8 weights equal the bf16 bytes with every quantized
// parameter at 1 byte plus an f32 scale per output channel (counted here from the config's
// sizes, not the table); and the released model fits 8 x H100-80GB in int8 but not in bf16.
#include <gtest/gtest.h>

#include <cstdio>

#include "app/engine/loading/memory_fit.h"
#include "app/engine/inspect/memory_plan.h"
#include "llm/weights/quant_rule.h"

namespace mvl::engine {
namespace {

using llm::QuantScheme;
using llm::TextRole;

TEST(QuantRule, RecipeAndExpertsOnlyFollowTheRoles) {
  const auto cfg = ModelConfig::released().text;
  int64_t q8 = 0, q8e = 0, experts = 0;
  llm::for_each_text_tensor(
      cfg, llm::TextWeightNaming::released_vl(), [&](const llm::TextTensor& t) {
        const WeightFormat f = llm::quant_format_of(t, QuantScheme::int8);
        const bool kept = t.role == TextRole::embedding || t.role == TextRole::lm_head ||
                          t.role == TextRole::router || !t.is_matrix();
        EXPECT_EQ(f, kept ? WeightFormat::plain : WeightFormat::int8) << t.name;
        q8 += f == WeightFormat::int8;
        experts += t.is_expert();
        for (auto [s, want] : {std::pair{QuantScheme::int8_experts, WeightFormat::int8},
                               {QuantScheme::fp8_experts, WeightFormat::fp8_e4m3},
                               {QuantScheme::int4_experts, WeightFormat::int4}}) {
          EXPECT_EQ(llm::quant_format_of(t, s), t.is_expert() ? want : WeightFormat::plain)
              << t.name;
          q8e +=
              s == QuantScheme::int8_experts && llm::quant_format_of(t, s) != WeightFormat::plain;
        }
        EXPECT_EQ(llm::quant_format_of(t, QuantScheme::none), WeightFormat::plain);
      });
  // 80 layers x 32 experts x 3; + 70 lightning x 3 and 10 softmax x 4 projections.
  EXPECT_EQ(experts, 80 * 32 * 3);
  EXPECT_EQ(q8e, experts);
  EXPECT_EQ(q8, experts + 70 * 3 + 10 * 4);
  for (auto s : llm::all_quant_schemes())
    EXPECT_EQ(llm::quant_scheme_from_name(llm::quant_scheme_name(s)), s);
  EXPECT_FALSE(llm::quant_scheme_from_name("int3"));
}

TEST(QuantMemoryPlan, Int8WeightsFromTheConfigSizes) {
  const ModelConfig c = ModelConfig::released();
  const auto& t = c.text;
  const int64_t H = t.hidden_size, I = t.intermediate_size, E = t.num_local_experts;
  const int64_t qd = t.num_attention_heads * t.head_dim, kvd = t.num_key_value_heads * t.head_dim;
  // Quantized parameters and their output channels, per layer kind.
  const int64_t exp_n = E * 3 * I * H, exp_ch = E * (2 * I + H);
  const int64_t lin_n = 3 * qd * H + qd * H + H * qd, lin_ch = 3 * qd + qd + H;
  const int64_t sm_n = qd * H + 2 * kvd * H + H * qd, sm_ch = qd + 2 * kvd + H;
  const int64_t nl = t.num_lightning_layers(), ns = t.num_softmax_layers(), L = nl + ns;
  const uint64_t bf16 = plan_memory(c, {1, 0, 0}).devices[0].weights;
  const uint64_t int8 = plan_memory(c, {1, 0, 0, QuantScheme::int8}).devices[0].weights;
  const int64_t qn = L * exp_n + nl * lin_n + ns * sm_n,
                qch = L * exp_ch + nl * lin_ch + ns * sm_ch;
  EXPECT_EQ(int8, bf16 - 2 * static_cast<uint64_t>(qn) + static_cast<uint64_t>(qn + 4 * qch));
  const uint64_t e8 = plan_memory(c, {1, 0, 0, QuantScheme::int8_experts}).devices[0].weights;
  EXPECT_EQ(e8, bf16 - static_cast<uint64_t>(L * exp_n) + static_cast<uint64_t>(4 * L * exp_ch));
  EXPECT_EQ(plan_memory(c, {1, 0, 0, QuantScheme::fp8_experts}).devices[0].weights, e8);
  // int4: half a byte a weight + (scale, zero) f32 per 128 inputs of a channel.
  const uint64_t i4 = plan_memory(c, {1, 0, 0, QuantScheme::int4_experts}).devices[0].weights;
  const int64_t groups = L * E * (2 * I * (H / 128) + H * (I / 128));
  EXPECT_EQ(i4, bf16 - 2 * static_cast<uint64_t>(L * exp_n) + static_cast<uint64_t>(L * exp_n / 2) +
                    8 * static_cast<uint64_t>(groups));
  std::printf("released weights, one device: bf16 %s, int8 %s, int8-experts %s, int4-experts %s\n",
              format_bytes(bf16).c_str(), format_bytes(int8).c_str(), format_bytes(e8).c_str(),
              format_bytes(i4).c_str());
}

// Issue 17's Done-when line: `info --quant int8 --gpus 8` on the released config fits 80 GB.
TEST(QuantMemoryPlan, ReleasedModelFits8xH100InInt8) {
  const ModelConfig c = ModelConfig::released();
  const GpuCard& h100 = gpu_cards().at(0);
  ASSERT_STREQ(h100.name, "H100-80GB");
  for (int64_t ctx : {8192, 65536, 1048576}) {
    const MemoryPlan q = plan_memory(c, {8, ctx, 1, QuantScheme::int8});
    const MemoryPlan b = plan_memory(c, {8, ctx, 1});
    std::printf(
        "tp 8, %s context: per GPU int8 %s (weights %s), bf16 %s; H100 %s less %s reserve\n",
        context_label(ctx).c_str(), format_bytes(q.max_total()).c_str(),
        format_bytes(q.devices[0].weights).c_str(), format_bytes(b.max_total()).c_str(),
        format_bytes(h100.capacity).c_str(), format_bytes(kFitReserve).c_str());
    EXPECT_TRUE(card_fits(h100, q.max_total())) << ctx;
    EXPECT_FALSE(card_fits(h100, b.max_total())) << ctx;
    EXPECT_LT(q.devices[0].weights * 10, b.devices[0].weights * 6);  // well under 60% of bf16
  }
  // The fit table says the same, and its per-GPU figure is the plan's.
  for (const FitRow& r : fit_table(c)) {
    const auto it = std::find(r.gpu_counts.begin(), r.gpu_counts.end(), 8);
    ASSERT_NE(it, r.gpu_counts.end());
    const size_t i = static_cast<size_t>(it - r.gpu_counts.begin());
    EXPECT_EQ(r.per_gpu[i], plan_memory(c, {8, r.context_tokens, 1, r.quant}).max_total());
    const bool h100_8 = std::count(r.fit[0].begin(), r.fit[0].end(), 8) == 1;
    if (r.quant == QuantScheme::int8) {
      EXPECT_TRUE(h100_8);
    }
    if (r.quant == QuantScheme::none) {
      EXPECT_FALSE(h100_8);
    }
  }
}

}  // namespace
}  // namespace mvl::engine
