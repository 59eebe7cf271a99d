// ops::fill_uniform_ on the CPU: deterministic by (seed, index), every value inside
// [lo, hi], mean and spread of a uniform, different seeds differ, bf16 = f32 rounded, and
// bad input refused.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/core/error.h"
#include "kernels/cpu/random.h"
#include "kernels/ops/random.h"

namespace mvl {
namespace {

std::vector<float> values(const Tensor& t) {
  std::vector<float> v(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i)
    v[i] = t.dtype() == DType::f32 ? t.data<float>()[i]
                                   : bf16_to_f32(static_cast<const uint16_t*>(t.data())[i]);
  return v;
}

TEST(FillUniform, DeterministicBySeedAndInRange) {
  Tensor a = Tensor::empty({100, 77}, DType::f32), b = Tensor::empty({100, 77}, DType::f32);
  ops::fill_uniform_(a, 42, -0.5f, 1.5f);
  ops::fill_uniform_(b, 42, -0.5f, 1.5f);
  const std::vector<float> va = values(a), vb = values(b);
  EXPECT_EQ(va, vb);
  double sum = 0, sq = 0;
  for (float x : va) {
    ASSERT_GE(x, -0.5f);
    ASSERT_LE(x, 1.5f);
    sum += x;
    sq += x * x;
  }
  const double n = static_cast<double>(va.size()), mean = sum / n, var = sq / n - mean * mean;
  EXPECT_NEAR(mean, 0.5, 0.02);
  EXPECT_NEAR(var, 4.0 / 12.0, 0.01);  // (hi - lo)^2 / 12
  Tensor c = Tensor::empty({100, 77}, DType::f32);
  ops::fill_uniform_(c, 43, -0.5f, 1.5f);
  int same = 0;
  const std::vector<float> vc = values(c);
  for (size_t i = 0; i < va.size(); ++i) same += va[i] == vc[i];
  EXPECT_LT(same, 10);
}

TEST(FillUniform, ValueDependsOnlyOnTheIndex) {
  // Element i of a long fill equals element i of a short one (counter-based, no stream state),
  // and equals cpu::uniform_at.
  Tensor big = Tensor::empty({1000}, DType::f32), small = Tensor::empty({10}, DType::f32);
  ops::fill_uniform_(big, 7, 0.f, 1.f);
  ops::fill_uniform_(small, 7, 0.f, 1.f);
  for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(big.data<float>()[i], small.data<float>()[i]);
  EXPECT_EQ(big.data<float>()[999], cpu::uniform_at(7, 999, 0.f, 1.f));
}

TEST(FillUniform, Bf16IsTheF32ValueRounded) {
  Tensor f = Tensor::empty({3, 333}, DType::f32), h = Tensor::empty({3, 333}, DType::bf16);
  ops::fill_uniform_(f, 9, -2.f, 2.f);
  ops::fill_uniform_(h, 9, -2.f, 2.f);
  const auto* hp = static_cast<const uint16_t*>(h.data());
  for (int64_t i = 0; i < f.numel(); ++i) ASSERT_EQ(hp[i], f32_to_bf16(f.data<float>()[i])) << i;
}

TEST(FillUniform, DegenerateRangeGivesTheConstant) {
  Tensor t = Tensor::empty({17}, DType::f32);
  ops::fill_uniform_(t, 1, 0.25f, 0.25f);
  for (float x : values(t)) EXPECT_EQ(x, 0.25f);
}

TEST(FillUniform, RefusesBadInput) {
  Tensor i = Tensor::empty({4}, DType::i32);
  EXPECT_THROW(ops::fill_uniform_(i, 1, 0.f, 1.f), Error);
  Tensor f = Tensor::empty({4, 4}, DType::f32);
  EXPECT_THROW(ops::fill_uniform_(f.transpose(0, 1), 1, 0.f, 1.f), Error);  // not contiguous
  EXPECT_THROW(ops::fill_uniform_(f, 1, 1.f, 0.f), Error);                  // lo > hi
  EXPECT_THROW(ops::fill_uniform_(f, 1, 0.f, INFINITY), Error);
  EXPECT_THROW(ops::fill_uniform_(Tensor(), 1, 0.f, 1.f), Error);
}

}  // namespace
}  // namespace mvl
