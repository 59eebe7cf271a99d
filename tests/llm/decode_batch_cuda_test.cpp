// TextModel::decode_batch on a GPU through batch_scenario() (mixed positions, join, pause,
// rewind, shuffled order). f32 precision: equal to the GPU's own per-sequence decode() within
// 1e-4 relative. bf16 (the default there), design.md's bf16 rule: the batched logits' rel L2
// error against the CPU f32 model is at most kC times that of the GPU's per-sequence bf16
// decode() (same weights, same inputs), with a floor for rows where that error is tiny.
// Labelled gpu (the _cuda_test suffix): skips without a GPU, fails under MVL_REQUIRE_GPU=1.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "kernels/ops/device.h"
#include "tests/llm/bf16_golden_util.h"
#include "tests/llm/decode_batch_util.h"

namespace mvl {
namespace {

using namespace test;

constexpr double kC = 2.0;

double rel_max(const std::vector<float>& a, const std::vector<float>& b) {
  double d = 0, m = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    d = std::max(d, static_cast<double>(std::fabs(a[i] - b[i])));
    m = std::max(m, static_cast<double>(std::fabs(b[i])));
  }
  return d / std::max(m, 1e-30);
}

TEST(DecodeBatchCuda, F32EqualsSeparateDecodes) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const ops::DeviceContext dev = ops::DeviceContext::open(Device::cuda(0));
  for (const std::string& name : golden_text_configs()) {
    SCOPED_TRACE(name);
    const std::string dir = golden_dir(name, "released");
    const Checkpoint ckpt = Checkpoint::open(dir + "/model.safetensors");
    const auto cfg =
        llm::TextConfig::from_json(json::parse_file(dir + "/config.json"), dir + "/config.json");
    const llm::TextModel gpu = llm::TextModel::load(ckpt, cfg, llm::TextWeightNaming::detect(ckpt),
                                                    dev, {.precision = ops::Precision::f32});
    const auto batched = run_batch_scenario(gpu, true), single = run_batch_scenario(gpu, false);
    ASSERT_EQ(batched.size(), single.size());
    for (size_t r = 0; r < single.size(); ++r)
      EXPECT_LE(rel_max(batched[r], single[r]), 1e-4) << "row " << r;
    // f32 on a GPU: the batched ops loop over the single-sequence kernels, so every mode gives
    // the per-sequence loop's bits.
    const auto loop = run_batch_scenario(gpu.with_batch_attention(llm::BatchAttention::per_sequence), true);
    const auto fill = run_batch_scenario(gpu.with_batch_attention(llm::BatchAttention::batched_fill), true);
    ASSERT_EQ(loop.size(), batched.size());
    for (size_t r = 0; r < loop.size(); ++r) {
      EXPECT_EQ(batched[r], loop[r]) << "row " << r;
      EXPECT_EQ(fill[r], loop[r]) << "row " << r;
    }
  }
}

// bf16 head dim 128 (the gather kernels run): every BatchAttention mode within the bf16 rule of
// the per-sequence decode() against the CPU f32 model, and the batched modes close to the
// per-sequence loop (the same GEMMs; only the lightning output's summation order and, for
// batched_fill, the softmax split merge differ; the op-level bit-for-bit checks are in
// tests/gpu/decode_batch_ops_test.cpp).
TEST(DecodeBatchCuda, Bf16BatchedAttentionModesAgree) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const ops::DeviceContext dev = ops::DeviceContext::open(Device::cuda(0));
  const std::string dir = golden_dir(kBf16GoldenName, "released");
  const Checkpoint ckpt = Checkpoint::open(dir + "/model.safetensors");
  const auto cfg = llm::TextConfig::from_json(json::parse_file(dir + "/config.json"), dir + "/config.json");
  const auto naming = llm::TextWeightNaming::detect(ckpt);
  const llm::TextModel cpu = llm::TextModel::load(ckpt, cfg, naming);
  const llm::TextModel gpu = llm::TextModel::load(ckpt, cfg, naming, dev);
  const auto ref = run_batch_scenario(cpu, false);
  const auto single = run_batch_scenario(gpu, false);
  const double e_single = rel_l2_rows(single, ref);
  const auto loop = run_batch_scenario(gpu.with_batch_attention(llm::BatchAttention::per_sequence), true);
  for (const llm::BatchAttention mode :
       {llm::BatchAttention::per_sequence, llm::BatchAttention::batched, llm::BatchAttention::batched_fill}) {
    const auto got = run_batch_scenario(gpu.with_batch_attention(mode), true);
    ASSERT_EQ(got.size(), ref.size());
    const double e = rel_l2_rows(got, ref), e_loop = rel_l2_rows(got, loop);
    std::printf("%s %s: rel L2 vs CPU f32 %.4g (per-sequence decode %.4g), vs the per-sequence loop %.4g\n",
                kBf16GoldenName, llm::batch_attention_name(mode), e, e_single, e_loop);
    EXPECT_LE(e, kC * std::max(e_single, 2e-3)) << llm::batch_attention_name(mode);
    EXPECT_LE(e_loop, std::max(e_single, 2e-3)) << llm::batch_attention_name(mode);
  }
}

TEST(DecodeBatchCuda, Bf16WithinTheBf16RuleOfSeparateDecodes) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const ops::DeviceContext dev = ops::DeviceContext::open(Device::cuda(0));
  for (const std::string& name : {std::string(kBf16GoldenName), std::string("l3s1_hd32_b16")}) {
    SCOPED_TRACE(name);
    const std::string dir = golden_dir(name, "released");
    const Checkpoint ckpt = Checkpoint::open(dir + "/model.safetensors");
    const auto cfg =
        llm::TextConfig::from_json(json::parse_file(dir + "/config.json"), dir + "/config.json");
    const auto naming = llm::TextWeightNaming::detect(ckpt);
    const llm::TextModel cpu = llm::TextModel::load(ckpt, cfg, naming);
    const llm::TextModel gpu = llm::TextModel::load(ckpt, cfg, naming, dev);
    ASSERT_EQ(gpu.precision(), ops::Precision::bf16);
    const auto ref = run_batch_scenario(cpu, false);
    const auto batched = run_batch_scenario(gpu, true), single = run_batch_scenario(gpu, false);
    ASSERT_EQ(batched.size(), ref.size());
    ASSERT_EQ(single.size(), ref.size());
    const double e_single = rel_l2_rows(single, ref), e_batch = rel_l2_rows(batched, ref);
    std::printf(
        "%s bf16 vs CPU f32: per-sequence decode rel L2 %.4g, decode_batch %.4g (bound %.4g)\n",
        name.c_str(), e_single, e_batch, kC * std::max(e_single, 2e-3));
    EXPECT_LE(e_batch, kC * std::max(e_single, 2e-3));
  }
}

}  // namespace
}  // namespace mvl
