// End-to-end CUDA parity: the same TextModel code on CUDA tensors (weights uploaded once as
// bf16, activations/states/logits on the device, greedy ids fed back on the device) must
// produce the CPU reference's greedy tokens on the bundled tiny model, with logits close.
// Labelled gpu (the _cuda_test suffix): skips without a GPU, fails under MVL_REQUIRE_GPU=1;
// it only uses ops::/llm:: so it also compiles in CPU-only builds.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/core/error.h"
#include "kernels/core/json.h"
#include "kernels/core/safetensors.h"
#include "kernels/ops/device.h"
#include "kernels/ops/sampling.h"
#include "kernels/ops/tensor_ops.h"
#include "llm/model/text_model.h"
#include "tests/support/test_util.h"

namespace mvl {
namespace {

constexpr int kNewTokens = 32;
// Fixed prompt ids (inside the tiny vocabulary of 3008), long enough for several
// lightning blocks and a multi-row softmax prefill.
const std::vector<int32_t> kPrompt = {3000, 17, 250, 999, 1024, 5, 77, 2047, 311, 12, 1500, 8, 2900, 64, 400, 33};

struct GreedyRun {
  std::vector<int32_t> tokens;
  std::vector<std::vector<float>> logits;  // f32 [vocab] per step (prefill's last row, then decodes)
};

std::vector<float> host_row(const Tensor& t) {
  const Tensor h = ops::to_device(t, Device::cpu());
  return std::vector<float>(h.data<float>(), h.data<float>() + h.numel());
}

// Greedy generation; on CUDA the argmax stays on the device and feeds the next step, and
// the ids are only read back for the comparison.
GreedyRun generate(const llm::TextModel& model) {
  GreedyRun r;
  llm::SequenceState st = model.new_state();
  Tensor logits = model.prefill({llm::Segment::tokens(kPrompt)}, st);  // [1, vocab]
  r.logits.push_back(host_row(logits));
  Tensor next = ops::argmax_rows(logits);  // i32 [1] on the model's device
  for (int i = 0; i < kNewTokens; ++i) {
    r.tokens.push_back(ops::to_device(next, Device::cpu()).data<int32_t>()[0]);
    if (i + 1 == kNewTokens) break;
    logits = model.decode(next, st);
    r.logits.push_back(host_row(logits));
    next = ops::argmax_rows(logits);
  }
  return r;
}

TEST(TextModelCuda, TinyModelGreedyTokensMatchCpu) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const std::string dir = test::source_path("assets/models/tiny-random");
  const llm::TextConfig cfg =
      llm::TextConfig::from_json(json::parse_file(dir + "/config.json").at("text_config"), "tiny text_config");
  const Checkpoint ckpt = Checkpoint::open(dir);
  const llm::TextWeightNaming naming = llm::TextWeightNaming::detect(ckpt);

  const llm::TextModel cpu = llm::TextModel::load(ckpt, cfg, naming);
  const ops::DeviceContext gpu_dev = ops::DeviceContext::open(Device::cuda(0));
  // f32 activations: the CPU parity mode (the CUDA default is bf16, see text_model_bf16_cuda_test).
  const llm::TextModel gpu = llm::TextModel::load(ckpt, cfg, naming, gpu_dev, {ops::Precision::f32});
  EXPECT_EQ(gpu.precision(), ops::Precision::f32);
  EXPECT_TRUE(gpu.weights().embed_tokens.device().is_cuda());
  EXPECT_EQ(gpu.weights().layers[0].input_layernorm.dtype(), DType::bf16);

  const GreedyRun a = generate(cpu);
  const GreedyRun b = generate(gpu);
  ASSERT_EQ(a.tokens.size(), static_cast<size_t>(kNewTokens));
  EXPECT_EQ(a.tokens, b.tokens) << "greedy tokens differ between CPU and CUDA";

  // Logits: both paths use the same bf16 weights and f32 activations, so they differ only
  // by f32 summation order. Bound: max |diff| <= 1e-3 * (1 + max |logit|) per step -- far
  // below one bf16 ulp of the logits (2^-8 relative), i.e. well inside the bf16 tolerance.
  ASSERT_EQ(a.logits.size(), b.logits.size());
  double worst = 0.0;
  for (size_t s = 0; s < a.logits.size(); ++s) {
    ASSERT_EQ(a.logits[s].size(), static_cast<size_t>(cfg.vocab_size));
    ASSERT_EQ(b.logits[s].size(), a.logits[s].size());
    double mx = 0.0, diff = 0.0;
    for (size_t j = 0; j < a.logits[s].size(); ++j) {
      ASSERT_TRUE(std::isfinite(b.logits[s][j])) << "step " << s << " logit " << j;
      mx = std::max(mx, std::abs(static_cast<double>(a.logits[s][j])));
      diff = std::max(diff, std::abs(static_cast<double>(a.logits[s][j]) - b.logits[s][j]));
    }
    worst = std::max(worst, diff / (1.0 + mx));
    EXPECT_LE(diff, 1e-3 * (1.0 + mx)) << "step " << s;
  }
  RecordProperty("worst_logit_err", std::to_string(worst));
  std::printf("tiny model CUDA vs CPU: %d greedy tokens equal; worst max|dlogit|/(1+max|logit|) = %.3g\n",
              kNewTokens, worst);
}

TEST(TextModelCuda, StateCloneAndDeviceChecks) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const std::string dir = test::source_path("assets/models/tiny-random");
  const llm::TextConfig cfg =
      llm::TextConfig::from_json(json::parse_file(dir + "/config.json").at("text_config"), "tiny text_config");
  const Checkpoint ckpt = Checkpoint::open(dir);
  const ops::DeviceContext dev = ops::DeviceContext::open(Device::cuda(0));
  for (const ops::Precision prec : {ops::Precision::f32, ops::Precision::bf16}) {
  SCOPED_TRACE(ops::precision_name(prec));
  const llm::TextModel gpu = llm::TextModel::load(ckpt, cfg, llm::TextWeightNaming::detect(ckpt), dev, {prec});
  EXPECT_EQ(gpu.activation_dtype(), prec == ops::Precision::bf16 ? DType::bf16 : DType::f32);
  llm::SequenceState st = gpu.new_state();
  EXPECT_TRUE(st.device().is_cuda());
  gpu.prefill({llm::Segment::tokens({3000, 5, 6, 7})}, st);
  // A clone continues exactly like the original (device deep copies).
  llm::SequenceState c = st.clone();
  const std::vector<float> x = host_row(gpu.decode(42, st));
  const std::vector<float> y = host_row(gpu.decode(42, c));
  EXPECT_EQ(x, y);
  // A snapshot restores the device states: the same token gives the same logits again.
  const auto snap = st.snapshot();
  const std::vector<float> p = host_row(gpu.decode(7, st));
  st.restore(snap);
  EXPECT_EQ(host_row(gpu.decode(7, st)), p);
  // A host token tensor is refused with a readable error.
  Tensor host_tok = Tensor::empty({1}, DType::i32);
  EXPECT_THROW(gpu.decode(host_tok, st), Error);
  }
}

TEST(TextModelCuda, DefaultPrecisionIsBf16OnCuda) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const std::string dir = test::source_path("assets/models/tiny-random");
  const llm::TextConfig cfg =
      llm::TextConfig::from_json(json::parse_file(dir + "/config.json").at("text_config"), "tiny text_config");
  const Checkpoint ckpt = Checkpoint::open(dir);
  const llm::TextModel gpu = llm::TextModel::load(ckpt, cfg, llm::TextWeightNaming::detect(ckpt),
                                                  ops::DeviceContext::open(Device::cuda(0)));
  EXPECT_EQ(gpu.precision(), ops::Precision::bf16);
  llm::SequenceState st = gpu.new_state();
  const Tensor logits = gpu.prefill({llm::Segment::tokens(kPrompt)}, st);
  EXPECT_EQ(logits.dtype(), DType::f32);  // logits stay f32 whatever the activations
  EXPECT_EQ(logits.dim(1), cfg.vocab_size);
  for (float v : host_row(logits)) ASSERT_TRUE(std::isfinite(v));
}

}  // namespace
}  // namespace mvl
