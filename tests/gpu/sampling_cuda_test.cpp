// CPU-vs-CUDA parity of the sampler (kernels/cuda/sampling.cu vs kernels/cpu/sampling.cpp,
// both through ops::sample_on_device): for several seeds and settings (greedy, temperature,
// top-k, top-p, the repetition penalty, the vocabulary limit; f32 and bf16 logits at the
// released vocabulary size) the GPU picks the id the CPU picks for the same draw, and never a
// padding id. Without the CUDA backend the file reduces to one test that skips, or fails
// under MVL_REQUIRE_GPU=1.
#include "tests/support/test_util.h"

#ifdef MVL_HAVE_CUDA
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "kernels/cpu/sampling.h"
#include "kernels/ops/device.h"
#include "kernels/ops/sampling.h"
#include "kernels/ops/tensor_ops.h"

namespace mvl {
namespace {

class SamplingCuda : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test::gpu_available()) return;
    dev_ = ops::DeviceContext::open(Device::cuda(0));
  }
  ops::DeviceContext dev_;
};

// Logits like a model's: mostly small, a few tall ones, some exact ties.
Tensor model_like_logits(int64_t V, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.0f, 2.0f);
  std::vector<float> v(static_cast<size_t>(V));
  for (auto& x : v) x = n(rng);
  for (int k = 0; k < 8; ++k) v[rng() % V] = 9.0f + static_cast<float>(k % 3);  // ties at the top
  return Tensor::from_f32({V}, v);
}

int32_t host_id(const Tensor& id) {
  const Tensor h = id.device().is_cuda() ? ops::to_device(id, Device::cpu()) : id;
  return h.data<int32_t>()[0];
}

TEST_F(SamplingCuda, SameIdAsTheCpuForEverySeedAndSetting) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const int64_t V = 200064, kTokenizer = 200032;  // the released LM head and tokenizer
  const std::vector<ops::SamplingParams> settings = {
      {0.0f, 0, 1.0f, 1.0f, 0},           {0.0f, 0, 1.0f, 1.0f, kTokenizer},
      {1.0f, 0, 1.0f, 1.0f, kTokenizer},  {0.7f, 40, 1.0f, 1.0f, kTokenizer},
      {0.9f, 0, 0.9f, 1.0f, kTokenizer},  {1.3f, 50, 0.8f, 1.0f, kTokenizer},
      {0.8f, 0, 0.95f, 1.2f, kTokenizer}, {0.0f, 0, 1.0f, 1.3f, kTokenizer},
      {2.0f, 1, 1.0f, 1.0f, 0}};
  const std::vector<int32_t> history = {5, 17, 17, 200040, 123456, 9};
  int compared = 0;
  for (uint32_t seed : {1u, 2u, 3u}) {
    const Tensor host = model_like_logits(V, seed);
    // A padding id with the largest logit of all: never chosen under the limit.
    host.data<float>()[V - 3] = 50.0f;
    for (DType dt : {DType::f32, DType::bf16}) {
      const Tensor h = dt == DType::f32 ? host : ops::cast(ops::cast(host, DType::bf16), DType::f32);
      const Tensor d = ops::to_device(dt == DType::f32 ? host : ops::cast(host, DType::bf16), dev_);
      for (const auto& p : settings) {
        for (uint64_t step = 0; step < 4; ++step) {
          const double u = cpu::sample_uniform(seed * 1000 + 7, step);
          const int32_t want = host_id(ops::sample_on_device(h, p, u, history));
          const Tensor got_dev = ops::sample_on_device(d, p, u, history);
          ASSERT_TRUE(got_dev.device().is_cuda()) << "the id stays on the device";
          const int32_t got = host_id(got_dev);
          EXPECT_EQ(got, want) << "seed " << seed << " dtype " << dtype_name(dt) << " T " << p.temperature
                               << " k " << p.top_k << " p " << p.top_p << " pen " << p.repetition_penalty
                               << " limit " << p.vocab_limit << " step " << step;
          if (p.vocab_limit > 0) EXPECT_LT(got, p.vocab_limit);
          ++compared;
        }
      }
    }
  }
  EXPECT_EQ(compared, 3 * 2 * 9 * 4);
}

// The non-finite flag of sample_checked comes from the kernels' own pass (greedy argmax or the
// sampler's prep) and matches the CPU's, as does the id, for NaN / +Inf / -Inf rows.
TEST_F(SamplingCuda, CheckedFlagMatchesTheCpu) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const int64_t V = 3000, limit = 2990;
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<ops::SamplingParams> settings = {
      {0.0f, 0, 1.0f, 1.0f, limit}, {0.0f, 0, 1.0f, 1.2f, limit}, {0.9f, 40, 0.9f, 1.0f, limit}};
  for (int poison = 0; poison < 5; ++poison) {
    Tensor host = model_like_logits(V, 11);
    if (poison == 1) host.data<float>()[1234] = std::nanf("");
    if (poison == 2) host.data<float>()[7] = inf;
    if (poison == 3) host.data<float>()[99] = -inf;              // masking: not flagged
    if (poison == 4) host.data<float>()[V - 2] = std::nanf("");  // padding: not a candidate
    const int want_flag = poison == 1 || poison == 2;
    for (DType dt : {DType::f32, DType::bf16}) {
      const Tensor h =
          dt == DType::f32 ? host : ops::cast(ops::cast(host, DType::bf16), DType::f32);
      const Tensor d = ops::to_device(dt == DType::f32 ? host : ops::cast(host, DType::bf16), dev_);
      for (const auto& p : settings) {
        const Tensor want = ops::sample_checked(h, p, 0.25, {3, 4});
        const Tensor got = ops::to_device(ops::sample_checked(d, p, 0.25, {3, 4}), Device::cpu());
        EXPECT_EQ(want.data<int32_t>()[1], want_flag) << "cpu, poison " << poison;
        EXPECT_EQ(got.data<int32_t>()[1], want_flag)
            << "cuda, poison " << poison << " T " << p.temperature;
        if (poison != 2 || p.temperature <= 0.0f)  // +Inf under a temperature: no defined draw
          EXPECT_EQ(got.data<int32_t>()[0], want.data<int32_t>()[0]) << "poison " << poison;
      }
    }
  }
}

TEST_F(SamplingCuda, RngStreamsMatchThroughSample) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const Tensor host = model_like_logits(3000, 9);
  const Tensor dev = ops::to_device(host, dev_);
  const ops::SamplingParams p{1.0f, 0, 0.9f, 1.0f, 2990};
  ops::Rng a(42), b(42);
  for (int i = 0; i < 32; ++i) EXPECT_EQ(ops::sample(dev, p, a), ops::sample(host, p, b)) << i;
}

}  // namespace
}  // namespace mvl
#else
TEST(SamplingCudaNoCuda, SkipsWithoutTheCudaBackend) {
  MVL_REQUIRE_GPU_OR_SKIP();
}
#endif
