// --quant at load on the CPU: TextWeights::load quantizes exactly the tensors the rule picks
// (experts and attention for int8; experts only for the -experts schemes; never the router,
// embedding or LM head), in both the per-expert and the fused layout, and the quantized model's
// logits stay close to the unquantized model's (errors printed) with the greedy tokens shown.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "kernels/core/json.h"
#include "kernels/core/quant_format.h"
#include "kernels/core/safetensors.h"
#include "llm/model/text_model.h"
#include "tests/llm/text_test_util.h"
#include "tests/support/test_util.h"

namespace mvl::llm {
namespace {

test::TextCheckpoint open_golden(const std::string& layout) {
  return test::open_text_checkpoint(test::golden_dir("l3s1_hd32_b16", layout));
}

TEST(QuantLoad, QuantizesWhatTheRuleSays) {
  for (const char* layout : {"released", "native"}) {
    const test::TextCheckpoint g = open_golden(layout);
    for (auto s : all_quant_schemes()) {
      const TextWeights w = TextWeights::load(g.ckpt, g.cfg, g.naming, s);
      const bool experts = s != QuantScheme::none, attn = s == QuantScheme::int8;
      EXPECT_FALSE(w.embed_tokens.quant() || w.lm_head.quant());
      for (const auto& l : w.layers) {
        EXPECT_FALSE(l.gate.quant() || l.input_layernorm.quant());
        const Tensor& a = l.kind == AttnKind::lightning ? l.lightning.qkv_proj : l.softmax.q_proj;
        EXPECT_EQ(a.quant() != nullptr, attn) << layout << " " << quant_scheme_name(s);
        for (const auto& e : l.experts)
          for (const Tensor* t : {&e.w1, &e.w3, &e.w2}) {
            ASSERT_EQ(t->quant() != nullptr, experts) << layout << " " << quant_scheme_name(s);
            if (t->quant())
              EXPECT_STREQ(weight_format_name(t->quant()->format),
                           s == QuantScheme::fp8_experts    ? "fp8_e4m3"
                           : s == QuantScheme::int4_experts ? "int4"
                                                            : "int8");
          }
      }
    }
  }
}

struct Outcome {
  std::vector<float> logits;  // the prompt's last position
  std::vector<int32_t> greedy;
};

Outcome run(const test::TextCheckpoint& g, QuantScheme s) {
  TextLoadOptions o;
  o.quant = s;
  const TextModel m = TextModel::load(g.ckpt, g.cfg, g.naming, {}, o);
  SequenceState st = m.new_state();
  std::vector<int32_t> prompt;
  for (int i = 0; i < 24; ++i)
    prompt.push_back(static_cast<int32_t>((i * 37 + 5) % g.cfg.vocab_size));
  Tensor lg = m.prefill({Segment::tokens(prompt)}, st);
  Outcome r;
  r.logits.assign(lg.data<float>(), lg.data<float>() + lg.numel());
  for (int step = 0; step < 16; ++step) {
    const float* p = lg.data<float>();
    const int32_t t = static_cast<int32_t>(std::max_element(p, p + lg.numel()) - p);
    r.greedy.push_back(t);
    lg = m.decode(t, st);
  }
  return r;
}

TEST(QuantLoad, LogitsCloseToUnquantized) {
  const test::TextCheckpoint g = open_golden("released");
  const Outcome ref = run(g, QuantScheme::none);
  for (auto s : all_quant_schemes()) {
    if (s == QuantScheme::none) continue;
    const Outcome q = run(g, s);
    double se = 0, sr = 0, worst = 0;
    for (size_t i = 0; i < ref.logits.size(); ++i) {
      const double d = q.logits[i] - ref.logits[i];
      se += d * d;
      sr += double(ref.logits[i]) * ref.logits[i];
      worst = std::max(worst, std::fabs(d));
    }
    const double rel = std::sqrt(se / sr);
    int agree = 0;
    while (agree < 16 && q.greedy[agree] == ref.greedy[agree]) ++agree;
    std::string toks;
    for (int32_t t : q.greedy) toks += " " + std::to_string(t);
    std::printf(
        "%-13s logits rel RMS error %.3e, max abs %.3e; greedy agrees for %d/16 tokens:%s\n",
        quant_scheme_name(s), rel, worst, agree, toks.c_str());
    // Bounds from the weight error of each format (int8 ~0.8%, fp8 ~2.6%, int4 ~10% per weight
    // on random weights), with room for its growth through the layers.
    EXPECT_LT(rel, s == QuantScheme::int4_experts  ? 0.3
                   : s == QuantScheme::fp8_experts ? 0.1
                                                   : 0.05)
        << quant_scheme_name(s);
    EXPECT_GT(rel, 0.0) << quant_scheme_name(s) << ": nothing was quantized";
  }
  std::string toks;
  for (int32_t t : ref.greedy) toks += " " + std::to_string(t);
  std::printf("bf16 greedy:%s\n", toks.c_str());
}

}  // namespace
}  // namespace mvl::llm
