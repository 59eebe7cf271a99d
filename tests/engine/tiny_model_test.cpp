// The tiny random checkpoint: a reproducible generator (splitmix64 reference values,
// Box-Muller moments), byte-identical output for a seed, the native layout holding the
// same values with fused experts, and clear errors for an unusable tokenizer.
#include <cmath>
#include <cstring>
#include <filesystem>

#include "app/engine/inspect/tensor_inventory.h"
#include "app/engine/inspect/tiny_model.h"
#include "kernels/core/error.h"
#include "tests/support/test_util.h"

namespace mvl::engine {
namespace {

std::string tokenizer() { return test::source_path("assets/models/tiny-random/tokenizer.json"); }

std::string make(uint64_t seed, CheckpointLayout layout = CheckpointLayout::released, bool sharded = true) {
  TinyModelOptions o;
  o.out_dir = test::temp_dir("tiny");
  o.tokenizer_path = tokenizer();
  o.seed = seed;
  o.layout = layout;
  o.sharded = sharded;
  write_tiny_model(o);
  return o.out_dir;
}

TEST(SplitMix64, MatchesTheReferenceSequence) {
  // First outputs of splitmix64 seeded with 0 (Vigna's reference implementation).
  SplitMix64 r(0);
  EXPECT_EQ(r.next(), 0xE220A8397B1DCDAFull);
  EXPECT_EQ(r.next(), 0x6E789E6AA1B965F4ull);
  EXPECT_EQ(r.next(), 0x06C45D188009454Full);
}

TEST(SplitMix64, NormalsHaveUnitMoments) {
  SplitMix64 r(42);
  const int n = 200000;
  double s = 0, s2 = 0;
  for (int i = 0; i < n; ++i) {
    const double x = r.normal();
    s += x;
    s2 += x * x;
  }
  EXPECT_NEAR(s / n, 0.0, 0.01);
  EXPECT_NEAR(s2 / n, 1.0, 0.01);
  for (int i = 0; i < 1000; ++i) {
    const double u = r.uniform();
    EXPECT_GT(u, 0.0);
    EXPECT_LE(u, 1.0);
  }
}

TEST(TinyModel, SameSeedSameBytesOtherSeedOtherWeights) {
  const std::string a = make(7), b = make(7), c = make(8);
  for (const auto& e : std::filesystem::directory_iterator(a)) {
    const std::string f = e.path().filename().string();
    EXPECT_EQ(test::read_text(a + "/" + f), test::read_text(b + "/" + f)) << f;
  }
  EXPECT_EQ(test::read_text(a + "/config.json"), test::read_text(c + "/config.json"));
  EXPECT_NE(test::read_text(a + "/model-00001-of-00002.safetensors"),
            test::read_text(c + "/model-00001-of-00002.safetensors"));
}

TEST(TinyModel, ConfigAgreesWithTheTokenizer) {
  const std::string dir = make(0);
  const TokenizerFacts tok = read_tokenizer_facts(tokenizer());
  const ModelConfig c = ModelConfig::load_dir(dir);
  EXPECT_EQ(c.layout, CheckpointLayout::released);
  EXPECT_GE(c.text.vocab_size, tok.num_tokens);
  EXPECT_EQ(c.text.vocab_size % 64, 0);
  EXPECT_EQ(c.image_token_index, tok.image_token);
  EXPECT_EQ(c.text.eos_token_id, tok.eos_token);
  EXPECT_EQ(c.text.num_softmax_layers(), 1);
  EXPECT_TRUE(c.text.is_softmax(3));
  EXPECT_EQ(c.vision.image_size, 336);
  EXPECT_EQ(c.vision.patch_size, 14);
  EXPECT_NEAR(c.text.mlp_alpha, std::pow(8.0, 0.25), 1e-12);
  const auto tc = json::parse_file(dir + "/tokenizer_config.json");
  EXPECT_EQ(tc["eos_token"], "<end_of_sentence>");
  EXPECT_TRUE(tc["chat_template"].is_string());
}

TEST(TinyModel, WeightsAreSaneBf16) {
  const std::string dir = make(0);
  const Checkpoint ck = Checkpoint::open(dir);
  const ModelConfig c = ModelConfig::load_dir(dir);
  EXPECT_TRUE(check_inventory(c, ck).ok());
  // A fan-in scaled linear weight: std ~ 1/sqrt(64).
  const Tensor w = ck.get("language_model.model.layers.0.self_attn.qkv_proj.weight");
  EXPECT_EQ(w.dtype(), DType::bf16);
  double s2 = 0;
  for (int64_t i = 0; i < w.numel(); ++i) s2 += std::pow(bf16_to_f32(w.data<uint16_t>()[i]), 2);
  EXPECT_NEAR(std::sqrt(s2 / static_cast<double>(w.numel())), 0.125, 0.01);
  // Norm weights sit near 1.
  const Tensor n = ck.get("language_model.model.norm.weight");
  for (int64_t i = 0; i < n.numel(); ++i) EXPECT_NEAR(bf16_to_f32(n.data<uint16_t>()[i]), 1.0, 0.3);
}

TEST(TinyModel, NativeLayoutHoldsTheSameValuesFused) {
  const std::string rel = make(3), nat = make(3, CheckpointLayout::native, false);
  const Checkpoint r = Checkpoint::open(rel), n = Checkpoint::open(nat);
  const ModelConfig nc = ModelConfig::load_dir(nat);
  EXPECT_EQ(nc.layout, CheckpointLayout::native);
  const InventoryReport rep = check_inventory(nc, n);
  EXPECT_TRUE(rep.ok());
  EXPECT_EQ(rep.layout, CheckpointLayout::native);
  // gate_up_proj[e] = [w1; w3], down_proj[e] = w2.
  const Tensor gu = n.get("model.language_model.layers.2.mlp.experts.gate_up_proj");
  const Tensor down = n.get("model.language_model.layers.2.mlp.experts.down_proj");
  ASSERT_EQ(gu.shape(), (Shape{4, 192, 64}));
  for (int64_t e = 0; e < 4; ++e) {
    const std::string p = "language_model.model.layers.2.block_sparse_moe.experts." + std::to_string(e) + ".";
    const Tensor w1 = r.get(p + "w1.weight"), w3 = r.get(p + "w3.weight"), w2 = r.get(p + "w2.weight");
    const auto* g = gu.data<uint16_t>() + e * 192 * 64;
    EXPECT_EQ(0, std::memcmp(g, w1.data(), w1.nbytes())) << e;
    EXPECT_EQ(0, std::memcmp(g + 96 * 64, w3.data(), w3.nbytes())) << e;
    EXPECT_EQ(0, std::memcmp(down.data<uint16_t>() + e * 64 * 96, w2.data(), w2.nbytes())) << e;
  }
  EXPECT_EQ(0, std::memcmp(n.get("model.image_newline").data(), r.get("image_newline").data(), 64 * 2));
  EXPECT_EQ(0, std::memcmp(n.get("model.language_model.layers.1.mlp.gate.weight").data(),
                           r.get("language_model.model.layers.1.block_sparse_moe.gate.weight").data(), 4 * 64 * 2));
}

TEST(TinyModel, TokenizerWithoutImageTokenIsRejected) {
  const std::string dir = test::temp_dir("tiny-tok");
  test::write_text(dir + "/tok.json",
                   R"({"model":{"vocab":{"a":0,"b":1}},"added_tokens":[{"id":2,"content":"<end_of_sentence>"}]})");
  try {
    read_tokenizer_facts(dir + "/tok.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("has no '<image>' token"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("tok.json"), std::string::npos) << e.what();
  }
  test::write_text(dir + "/empty.json", "{}");
  EXPECT_THROW(read_tokenizer_facts(dir + "/empty.json"), Error);
}

}  // namespace
}  // namespace mvl::engine
