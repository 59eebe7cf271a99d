// TextModel::random on the CPU: the random weights have exactly the shapes and structure
// TextWeights::load binds for the same config (a golden tiny checkpoint), the model runs
// prefill + greedy decode with finite logits, and everything is deterministic by seed.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/core/error.h"
#include "kernels/core/json.h"
#include "kernels/ops/sampling.h"
#include "llm/model/text_model.h"
#include "llm/weights/random_weights.h"
#include "tests/llm/text_test_util.h"

namespace mvl {
namespace {

llm::TextConfig golden_config() {
  const std::string dir = test::golden_dir("l2s1_hd16_b8", "released");
  return llm::TextConfig::from_json(json::parse_file(dir + "/config.json"), dir + "/config.json");
}

void expect_same_shape(const Tensor& a, const Tensor& b, const std::string& what) {
  ASSERT_EQ(a.defined(), b.defined()) << what;
  if (a.defined()) {
    EXPECT_EQ(a.shape(), b.shape()) << what << ": " << a.str() << " vs " << b.str();
  }
}

TEST(RandomTextModel, WeightsHaveTheCheckpointStructure) {
  const std::string dir = test::golden_dir("l2s1_hd16_b8", "released");
  const Checkpoint ckpt = Checkpoint::open(dir + "/model.safetensors");
  const llm::TextConfig cfg = golden_config();
  const llm::TextWeights ref =
      llm::TextWeights::load(ckpt, cfg, llm::TextWeightNaming::detect(ckpt));
  const llm::TextWeights w = llm::random_text_weights(cfg, {}, 3);
  expect_same_shape(w.embed_tokens, ref.embed_tokens, "embed_tokens");
  expect_same_shape(w.norm, ref.norm, "norm");
  expect_same_shape(w.lm_head, ref.lm_head, "lm_head");
  ASSERT_EQ(w.layers.size(), ref.layers.size());
  int64_t bytes = llm::text_global_weight_bytes(cfg, DType::f32);
  EXPECT_EQ(bytes, static_cast<int64_t>(w.embed_tokens.nbytes() + w.norm.nbytes() +
                                        (cfg.tie_word_embeddings ? 0 : w.lm_head.nbytes())));
  for (size_t l = 0; l < w.layers.size(); ++l) {
    const llm::LayerWeights &a = w.layers[l], &b = ref.layers[l];
    const std::string p = "layer " + std::to_string(l) + " ";
    EXPECT_EQ(a.kind, b.kind) << p;
    expect_same_shape(a.input_layernorm, b.input_layernorm, p + "input_layernorm");
    expect_same_shape(a.post_attention_layernorm, b.post_attention_layernorm,
                      p + "post_attention_layernorm");
    expect_same_shape(a.gate, b.gate, p + "gate");
    int64_t layer_bytes = static_cast<int64_t>(
        a.input_layernorm.nbytes() + a.post_attention_layernorm.nbytes() + a.gate.nbytes());
    if (a.kind == llm::AttnKind::lightning) {
      expect_same_shape(a.lightning.qkv_proj, b.lightning.qkv_proj, p + "qkv_proj");
      expect_same_shape(a.lightning.output_gate, b.lightning.output_gate, p + "output_gate");
      expect_same_shape(a.lightning.out_proj, b.lightning.out_proj, p + "out_proj");
      expect_same_shape(a.lightning.norm, b.lightning.norm, p + "norm");
      EXPECT_EQ(test::max_abs_diff(a.lightning.slopes, b.lightning.slopes), 0.0) << p << "slopes";
      for (const Tensor* t : {&a.lightning.qkv_proj, &a.lightning.output_gate,
                              &a.lightning.out_proj, &a.lightning.norm, &a.lightning.slopes})
        layer_bytes += static_cast<int64_t>(t->nbytes());
    } else {
      expect_same_shape(a.softmax.q_proj, b.softmax.q_proj, p + "q_proj");
      expect_same_shape(a.softmax.k_proj, b.softmax.k_proj, p + "k_proj");
      expect_same_shape(a.softmax.v_proj, b.softmax.v_proj, p + "v_proj");
      expect_same_shape(a.softmax.o_proj, b.softmax.o_proj, p + "o_proj");
      for (const Tensor* t :
           {&a.softmax.q_proj, &a.softmax.k_proj, &a.softmax.v_proj, &a.softmax.o_proj})
        layer_bytes += static_cast<int64_t>(t->nbytes());
    }
    ASSERT_EQ(a.experts.size(), b.experts.size()) << p;
    for (size_t e = 0; e < a.experts.size(); ++e) {
      expect_same_shape(a.experts[e].w1, b.experts[e].w1, p + "w1");
      expect_same_shape(a.experts[e].w3, b.experts[e].w3, p + "w3");
      expect_same_shape(a.experts[e].w2, b.experts[e].w2, p + "w2");
      EXPECT_TRUE(a.experts[e].w1.is_contiguous() && a.experts[e].w3.is_contiguous() &&
                  a.experts[e].w2.is_contiguous());
      layer_bytes += static_cast<int64_t>(a.experts[e].w1.nbytes() + a.experts[e].w3.nbytes() +
                                          a.experts[e].w2.nbytes());
    }
    // Packed as ops::pack_experts lays them out: w3 right after w1 in one [2I, H] block.
    const auto* w1 = static_cast<const uint8_t*>(a.experts[0].w1.data());
    EXPECT_EQ(static_cast<const uint8_t*>(a.experts[0].w3.data()), w1 + a.experts[0].w1.nbytes());
    EXPECT_FALSE(a.packed.defined()) << "the CPU keeps no packed buffers";
    EXPECT_EQ(layer_bytes, llm::text_layer_weight_bytes(cfg, static_cast<int64_t>(l), DType::f32))
        << p;
  }
}

struct RunResult {
  std::vector<float> prefill_logits;
  std::vector<int32_t> greedy;
};

RunResult run_model(const llm::TextModel& m) {
  llm::SequenceState st = m.new_state();
  const std::vector<int32_t> ids = {1, 5, 9, 2,  7,  3, 11,
                                    4, 8, 6, 10, 12, 0};  // > one lightning block
  RunResult r;
  Tensor logits = m.prefill({llm::Segment::tokens(ids)}, st);
  EXPECT_EQ(logits.shape(), (Shape{1, m.config().vocab_size}));
  r.prefill_logits = test::to_vec(logits);
  int32_t tok = ops::argmax(logits.select(0, 0));
  for (int s = 0; s < 4; ++s) {
    r.greedy.push_back(tok);
    const Tensor next = m.decode(tok, st);
    for (float x : test::to_vec(next)) EXPECT_TRUE(std::isfinite(x));
    tok = ops::argmax(next);
  }
  EXPECT_EQ(st.position(), static_cast<int64_t>(ids.size()) + 4);
  return r;
}

TEST(RandomTextModel, RunsOnTheCpuAndIsDeterministicBySeed) {
  const llm::TextConfig cfg = golden_config();
  const llm::TextModel a = llm::TextModel::random(cfg, {}, {}, 11);
  EXPECT_EQ(a.precision(), ops::Precision::f32);
  EXPECT_EQ(a.weights().embed_tokens.dtype(), DType::f32);
  const RunResult ra = run_model(a), rb = run_model(llm::TextModel::random(cfg, {}, {}, 11));
  EXPECT_EQ(ra.prefill_logits, rb.prefill_logits);
  EXPECT_EQ(ra.greedy, rb.greedy);
  for (float x : ra.prefill_logits) ASSERT_TRUE(std::isfinite(x));
  double spread = 0;
  for (float x : ra.prefill_logits)
    spread = std::max(spread, std::fabs(static_cast<double>(x - ra.prefill_logits[0])));
  EXPECT_GT(spread, 0.0) << "random weights give varied logits";
  const RunResult rc = run_model(llm::TextModel::random(cfg, {}, {}, 12));
  EXPECT_NE(ra.prefill_logits, rc.prefill_logits);
  // The with_cuda_graphs copy shares the weights and computes the same thing.
  const llm::TextModel g = a.with_cuda_graphs(false);
  EXPECT_FALSE(g.cuda_graphs());
  EXPECT_EQ(g.weights().embed_tokens.data(), a.weights().embed_tokens.data());
  EXPECT_EQ(run_model(g).prefill_logits, ra.prefill_logits);
}

TEST(RandomTextModel, RefusesInconsistentConfigs) {
  llm::TextConfig cfg = golden_config();
  cfg.layer_types.pop_back();
  EXPECT_THROW(llm::TextModel::random(cfg), Error);
  cfg = golden_config();
  cfg.num_key_value_heads = 3;  // does not divide the heads
  EXPECT_THROW(llm::TextModel::random(cfg), Error);
}

}  // namespace
}  // namespace mvl
