// Random weights in a quantization scheme (what `bench --random-weights --quant` builds): the
// rule's tensors come out quantized (experts as views into the two fused quantized matrices),
// the byte counts the bench's fit and floor use count codes + scales, and the CPU model runs
// on them with logits close to the bf16 ones (same seed).
#include <gtest/gtest.h>

#include <cmath>

#include "kernels/core/quant_format.h"
#include "llm/model/text_model.h"
#include "llm/weights/random_weights.h"
#include "tests/llm/text_test_util.h"

namespace mvl::llm {
namespace {

TextConfig tiny_config() {
  const std::string dir = test::golden_dir("l3s1_hd32_b16", "released");
  return TextConfig::from_json(json::parse_file(dir + "/config.json"), dir + "/config.json");
}

TEST(QuantRandom, RuleTensorsAreQuantizedAndCounted) {
  const TextConfig c = tiny_config();
  for (auto s : all_quant_schemes()) {
    const TextWeights w = random_text_weights(c, {}, 3, s);
    for (const auto& l : w.layers) {
      const Tensor& a = l.kind == AttnKind::lightning ? l.lightning.qkv_proj : l.softmax.q_proj;
      EXPECT_EQ(a.quant() != nullptr, s == QuantScheme::int8) << quant_scheme_name(s);
      EXPECT_FALSE(l.gate.quant());
      for (const auto& e : l.experts)
        EXPECT_EQ(e.w2.quant() != nullptr, s != QuantScheme::none) << quant_scheme_name(s);
    }
    // Layer bytes: every tensor's quantized_bytes under the rule.
    int64_t want = 0;
    for_each_text_tensor(c, TextWeightNaming::native_vl(), [&](const TextTensor& t) {
      if (t.layer == 0)
        want += static_cast<int64_t>(
            quantized_bytes(t.shape, std::max(t.in_axis, 0), quant_format_of(t, s), 2));
    });
    const int64_t slopes = c.layer_types[0] == AttnKind::lightning ? 4 * c.num_attention_heads : 0;
    EXPECT_EQ(text_layer_weight_bytes(c, 0, DType::bf16, s), want + slopes) << quant_scheme_name(s);
    if (s != QuantScheme::none) {
      EXPECT_LT(text_layer_weight_bytes(c, 0, DType::bf16, s),
                text_layer_weight_bytes(c, 0, DType::bf16));
    }
  }
}

TEST(QuantRandom, CpuModelRunsCloseToBf16) {
  const TextConfig c = tiny_config();
  auto logits = [&](QuantScheme s) {
    TextLoadOptions o;
    o.quant = s;
    const TextModel m = TextModel::random(c, {}, o, 5);
    SequenceState st = m.new_state();
    std::vector<int32_t> ids = {1, 7, 3, 9, 2};
    const Tensor lg = m.prefill({Segment::tokens(ids)}, st);
    return std::vector<float>(lg.data<float>(), lg.data<float>() + lg.numel());
  };
  const auto ref = logits(QuantScheme::none);
  for (auto s : {QuantScheme::int8, QuantScheme::fp8_experts, QuantScheme::int4_experts}) {
    const auto q = logits(s);
    double se = 0, sr = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
      se += (q[i] - ref[i]) * double(q[i] - ref[i]);
      sr += double(ref[i]) * ref[i];
    }
    const double rel = std::sqrt(se / sr);
    std::printf("%-13s random-weight logits rel RMS error %.3e\n", quant_scheme_name(s), rel);
    EXPECT_GT(rel, 0.0) << quant_scheme_name(s);
    EXPECT_LT(rel, 0.3) << quant_scheme_name(s);
  }
}

}  // namespace
}  // namespace mvl::llm
