// The bf16 golden's f32 half on the CPU: our f32 reference model reproduces transformers'
// float32 logits on the head-dim-128 config (prefill of 300 tokens across the 256-token block
// boundary, then cached decode steps). This validates the golden files and their config, so
// the CUDA bf16 test (text_model_bf16_cuda_test.cpp) can trust the f32 logits it is bounded by.
#include <gtest/gtest.h>

#include "kernels/core/error.h"
#include "kernels/ops/tensor_ops.h"
#include "tests/llm/bf16_golden_util.h"

namespace mvl {
namespace {

using namespace test;

// f32 vs f32 (same bf16-representable weights): only summation order differs.
constexpr double kF32Tol = 1e-4;

TEST(TextBf16Golden, CpuF32MatchesTransformersF32) {
  const LoadedTextModel m = load_text_model(golden_dir(kBf16GoldenName, "released"));
  ASSERT_EQ(m.cfg.head_dim, 128);
  ASSERT_EQ(m.model.precision(), ops::Precision::f32);  // the CPU default
  const Checkpoint golden = Checkpoint::open(golden_dir(kBf16GoldenName) + "/golden.safetensors");
  const Bf16GoldenRun run = run_bf16_golden(m.model, golden);
  const double e_prefill = rel_l2_rows(run.prefill, rows_of(golden.get("prefill_f32")));
  const double e_decode = rel_l2_rows(run.decode, rows_of(golden.get("decode_f32")));
  EXPECT_LE(e_prefill, kF32Tol);
  EXPECT_LE(e_decode, kF32Tol);
  // The stored bf16 run really is a different (rounded) computation: its error is what the
  // CUDA bf16 test's bound is a multiple of, so it must be clearly above f32 noise.
  const double h_prefill = rel_l2_rows(rows_of(golden.get("prefill_bf16")), rows_of(golden.get("prefill_f32")));
  EXPECT_GT(h_prefill, 100 * kF32Tol);
  std::printf("bf16 golden on the CPU (f32): rel L2 prefill %.3g decode %.3g; transformers bf16 vs f32: %.3g\n",
              e_prefill, e_decode, h_prefill);
}

TEST(TextBf16Golden, Bf16OnTheCpuIsRefused) {
  const std::string dir = golden_dir(kBf16GoldenName, "released");
  const Checkpoint ckpt = Checkpoint::open(dir + "/model.safetensors");
  const llm::TextConfig cfg = llm::TextConfig::from_json(json::parse_file(dir + "/config.json"), "config");
  try {
    llm::TextModel::load(ckpt, cfg, llm::TextWeightNaming::detect(ckpt), {}, {ops::Precision::bf16});
    FAIL() << "bf16 activations on the CPU were accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::unsupported);
    EXPECT_NE(std::string(e.what()).find("f32"), std::string::npos) << e.what();
  }
}

TEST(TextPrecision, ParseNamesAndDefaults) {
  EXPECT_EQ(ops::parse_precision("f32"), ops::Precision::f32);
  EXPECT_EQ(ops::parse_precision("bf16"), ops::Precision::bf16);
  EXPECT_THROW(ops::parse_precision("fp16"), Error);
  EXPECT_THROW(ops::parse_precision(""), Error);
  EXPECT_STREQ(ops::precision_name(ops::Precision::bf16), "bf16");
  EXPECT_STREQ(ops::precision_name(ops::Precision::f32), "f32");
  EXPECT_EQ(ops::default_precision(ops::DeviceContext()), ops::Precision::f32);
  EXPECT_EQ(ops::resolve_precision(std::nullopt, ops::DeviceContext()), ops::Precision::f32);
  EXPECT_THROW(ops::resolve_precision(ops::Precision::bf16, ops::DeviceContext()), Error);
  EXPECT_EQ(ops::activation_dtype(ops::Precision::bf16), DType::bf16);
}

TEST(TextPrecision, SequenceStateKvDtype) {
  const std::string dir = golden_dir(kBf16GoldenName, "released");
  const llm::TextConfig cfg = llm::TextConfig::from_json(json::parse_file(dir + "/config.json"), "config");
  llm::SequenceState st(cfg, {}, DType::f32);
  const int64_t softmax_layer = 3;
  const Tensor k16 = Tensor::empty({2, cfg.num_key_value_heads, cfg.head_dim}, DType::bf16);
  EXPECT_THROW(st.append_kv(softmax_layer, k16, k16), Error);  // dtype mismatch is refused
  const Tensor k32 = Tensor::empty({2, cfg.num_key_value_heads, cfg.head_dim}, DType::f32);
  st.append_kv(softmax_layer, k32, k32);
  EXPECT_EQ(st.kv_cache(softmax_layer).length, 2);
  EXPECT_THROW(llm::SequenceState(cfg, {}, DType::i32), Error);
}

}  // namespace
}  // namespace mvl
