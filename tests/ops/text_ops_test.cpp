// The text model's smaller ops against hand-written references: RMSNorm (incl. the bf16
// rounding order), partial half-split RoPE, embedding, MoE routing (renormalisation, ties),
// the expert combine, sampling (greedy, top-k/top-p limits, seeding, repetition penalty),
// and the tensor utilities.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include "kernels/core/error.h"
#include "kernels/ops/embedding.h"
#include "kernels/ops/linear.h"
#include "kernels/ops/moe.h"
#include "kernels/ops/rms_norm.h"
#include "kernels/ops/rope.h"
#include "kernels/ops/sampling.h"
#include "kernels/ops/tensor_ops.h"

namespace mvl {
namespace {

std::vector<float> randn(size_t n, uint32_t seed, float sd = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> N(0.0f, sd);
  std::vector<float> v(n);
  for (auto& e : v) e = N(rng);
  return v;
}

TEST(RmsNorm, MatchesDoubleReference) {
  const int64_t rows = 5, d = 48;
  auto x = randn(rows * d, 1), w = randn(d, 2);
  Tensor y = ops::rms_norm(Tensor::from_f32({rows, d}, x), Tensor::from_f32({d}, w), 1e-6f);
  for (int64_t r = 0; r < rows; ++r) {
    double ss = 0;
    for (int64_t j = 0; j < d; ++j) ss += double(x[r * d + j]) * x[r * d + j];
    const double inv = 1.0 / std::sqrt(ss / d + 1e-6);
    for (int64_t j = 0; j < d; ++j) EXPECT_NEAR(y.data<float>()[r * d + j], x[r * d + j] * inv * w[j], 1e-5);
  }
}

TEST(RmsNorm, Bf16OrderRoundsBeforeAndAfterWeight) {
  const int64_t d = 64;
  auto x = randn(d, 3), w = randn(d, 4);
  Tensor y = ops::rms_norm(Tensor::from_f32({1, d}, x), Tensor::from_f32({d}, w), 1e-5f, /*round_bf16=*/true);
  float ss = 0;
  for (float v : x) ss += v * v;
  const float inv = 1.0f / std::sqrt(ss / d + 1e-5f);
  for (int64_t j = 0; j < d; ++j) {
    const float expect = round_bf16(round_bf16(x[j] * inv) * w[j]);
    EXPECT_EQ(y.data<float>()[j], expect) << j;
  }
}

TEST(Rope, PartialHalfSplit) {
  const int64_t n = 5, H = 3, d = 16, rd = 8, pos0 = 7;
  const double theta = 10000.0;
  auto x = randn(n * H * d, 5);
  Tensor y = ops::rope(Tensor::from_f32({n, H, d}, x), pos0, rd, theta);
  for (int64_t t = 0; t < n; ++t)
    for (int64_t h = 0; h < H; ++h) {
      const float* xi = x.data() + (t * H + h) * d;
      const float* yo = y.data<float>() + (t * H + h) * d;
      for (int64_t i = 0; i < rd / 2; ++i) {
        const double ang = double(pos0 + t) / std::pow(theta, 2.0 * i / rd);
        EXPECT_NEAR(yo[i], xi[i] * std::cos(ang) - xi[i + rd / 2] * std::sin(ang), 2e-5);
        EXPECT_NEAR(yo[i + rd / 2], xi[i + rd / 2] * std::cos(ang) + xi[i] * std::sin(ang), 2e-5);
      }
      for (int64_t j = rd; j < d; ++j) EXPECT_EQ(yo[j], xi[j]) << "dims past rotary_dim pass through";
    }
  EXPECT_THROW(ops::rope(Tensor::from_f32({n, H, d}, x), 0, 7, theta), Error);
}

TEST(Embedding, GathersRowsAndRejectsBadIds) {
  Tensor table = Tensor::from_f32({4, 2}, {0, 1, 10, 11, 20, 21, 30, 31});
  Tensor bf = ops::cast(table, DType::bf16);
  for (const Tensor& t : {table, bf}) {
    Tensor e = ops::embedding(t, {3, 0, 3});
    EXPECT_EQ(e.shape(), (Shape{3, 2}));
    EXPECT_EQ(e.data<float>()[0], 30);
    EXPECT_EQ(e.data<float>()[3], 1);
    EXPECT_EQ(e.data<float>()[5], 31);
  }
  EXPECT_THROW(ops::embedding(table, {4}), Error);
  EXPECT_THROW(ops::embedding(table, {-1}), Error);
}

TEST(MoeRoute, SoftmaxTopKRenormaliseAndTies) {
  // token 0: distinct; token 1: experts 1 and 3 tie for first, 0 and 2 tie below.
  Tensor logits = Tensor::from_f32({2, 4}, {0.5f, 2.0f, -1.0f, 1.0f, 0.0f, 3.0f, 0.0f, 3.0f});
  ops::MoeRouting r = ops::moe_route(logits, 2);
  const int32_t* e = r.experts.data<int32_t>();
  const float* w = r.weights.data<float>();
  EXPECT_EQ(e[0], 1);
  EXPECT_EQ(e[1], 3);
  const double p1 = std::exp(2.0), p3 = std::exp(1.0);
  EXPECT_NEAR(w[0], p1 / (p1 + p3), 1e-6);
  EXPECT_NEAR(w[1], p3 / (p1 + p3), 1e-6);
  EXPECT_EQ(e[2], 1) << "lowest index wins a tie";
  EXPECT_EQ(e[3], 3);
  EXPECT_NEAR(w[2], 0.5, 1e-6);
  ops::MoeRouting r3 = ops::moe_route(logits, 3);
  EXPECT_EQ(r3.experts.data<int32_t>()[5], 0) << "tie between 0 and 2 -> 0";
  EXPECT_THROW(ops::moe_route(logits, 5), Error);
}

TEST(MoeRoute, LocalExpertIdsRenumberTheHeldRangeAndSkipTheRest) {
  Tensor ids = Tensor::empty({2, 2}, DType::i32);
  const std::vector<int32_t> whole{0, 5, 3, 2};
  std::copy(whole.begin(), whole.end(), ids.data<int32_t>());
  const Tensor l = ops::local_expert_ids(ids, 2, 4);
  const int32_t* p = l.data<int32_t>();
  EXPECT_EQ(std::vector<int32_t>(p, p + 4), (std::vector<int32_t>{-1, -1, 1, 0}));
  EXPECT_EQ(ids.data<int32_t>()[1], 5) << "the caller's ids are left as they were";
  EXPECT_NE(l.data(), ids.data());
  EXPECT_THROW(ops::local_expert_ids(Tensor::from_f32({1, 2}, {0.f, 1.f}), 0, 1), Error);
  EXPECT_THROW(ops::local_expert_ids(ids, 3, 2), Error);
}

TEST(MoeExperts, MatchesPerTokenReference) {
  const int64_t n = 6, H = 8, I = 12, E = 4, k = 2;
  std::vector<ops::ExpertWeights> ex;
  std::vector<std::vector<float>> w1, w3, w2;
  for (int64_t e = 0; e < E; ++e) {
    w1.push_back(randn(I * H, 10 + e, 0.3f));
    w3.push_back(randn(I * H, 20 + e, 0.3f));
    w2.push_back(randn(H * I, 30 + e, 0.3f));
    // Mix dtypes: odd experts in bf16.
    auto mk = [&](const std::vector<float>& v, Shape s) {
      Tensor t = Tensor::from_f32(s, v);
      return e % 2 ? ops::cast(t, DType::bf16) : t;
    };
    ex.push_back({mk(w1.back(), {I, H}), mk(w3.back(), {I, H}), mk(w2.back(), {H, I})});
  }
  auto x = randn(n * H, 40);
  Tensor logits = Tensor::from_f32({n, E}, randn(n * E, 41));
  ops::MoeRouting r = ops::moe_route(logits, k);
  Tensor out = ops::moe_experts(Tensor::from_f32({n, H}, x), r, ex);
  for (int64_t t = 0; t < n; ++t) {
    std::vector<double> acc(H, 0.0);
    for (int64_t j = 0; j < k; ++j) {
      const int64_t e = r.experts.data<int32_t>()[t * k + j];
      const double wt = r.weights.data<float>()[t * k + j];
      auto W = [&](const std::vector<float>& v, int64_t i) { return e % 2 ? double(round_bf16(v[i])) : double(v[i]); };
      std::vector<double> h(I);
      for (int64_t i = 0; i < I; ++i) {
        double g = 0, u = 0;
        for (int64_t c = 0; c < H; ++c) {
          g += W(w1[e], i * H + c) * x[t * H + c];
          u += W(w3[e], i * H + c) * x[t * H + c];
        }
        h[i] = g / (1 + std::exp(-g)) * u;
      }
      for (int64_t c = 0; c < H; ++c) {
        double y = 0;
        for (int64_t i = 0; i < I; ++i) y += W(w2[e], c * I + i) * h[i];
        acc[c] += wt * y;
      }
    }
    for (int64_t c = 0; c < H; ++c) EXPECT_NEAR(out.data<float>()[t * H + c], acc[c], 1e-5);
  }
}

TEST(Sampling, GreedyTopKTopPSeedAndPenalty) {
  Tensor logits = Tensor::from_f32({6}, {1.0f, 3.0f, 3.0f, -2.0f, 2.5f, 0.0f});
  EXPECT_EQ(ops::argmax(logits), 1) << "lowest index wins a tie";
  ops::Rng rng(1);
  ops::SamplingParams greedy;
  EXPECT_EQ(ops::sample(logits, greedy, rng), 1);
  ops::SamplingParams topk1{1.0f, 1, 1.0f, 1.0f};
  for (int i = 0; i < 20; ++i) EXPECT_EQ(ops::sample(logits, topk1, rng), 1);
  ops::SamplingParams tinyp{1.0f, 0, 1e-5f, 1.0f};
  for (int i = 0; i < 20; ++i) EXPECT_EQ(ops::sample(logits, tinyp, rng), 1);
  // top-k 3 only ever yields the three best (1, 2, 4), each reasonably often.
  ops::SamplingParams k3{1.0f, 3, 1.0f, 1.0f};
  std::map<int32_t, int> counts;
  for (int i = 0; i < 3000; ++i) counts[ops::sample(logits, k3, rng)]++;
  EXPECT_EQ(counts.size(), 3u);
  const double p4 = std::exp(2.5) / (2 * std::exp(3.0) + std::exp(2.5));
  EXPECT_NEAR(counts[4] / 3000.0, p4, 0.03);
  // Same seed -> same stream; different seed -> different stream.
  ops::SamplingParams t1{1.0f, 0, 1.0f, 1.0f};
  auto stream = [&](uint64_t seed) {
    ops::Rng r(seed);
    std::vector<int32_t> s;
    for (int i = 0; i < 64; ++i) s.push_back(ops::sample(logits, t1, r));
    return s;
  };
  EXPECT_EQ(stream(42), stream(42));
  EXPECT_NE(stream(42), stream(43));
  // Penalty: token 1 (positive logit 3 -> 3/2 = 1.5) loses to 2 (3.0) under greedy.
  ops::SamplingParams pen{0.0f, 0, 1.0f, 2.0f};
  EXPECT_EQ(ops::sample(logits, pen, rng, {1}), 2);
  EXPECT_EQ(ops::sample(logits, pen, rng, {1, 2}), 4);
  EXPECT_EQ(logits.data<float>()[1], 3.0f) << "the caller's logits are not modified";
  ops::SamplingParams bad{1.0f, 0, 0.0f, 1.0f};
  EXPECT_THROW(ops::sample(logits, bad, rng), Error);
}

TEST(TensorOps, CopyIntoViewsConcatCastAxpby) {
  Tensor dst = ops::empty({4, 3}, DType::f32);
  ops::copy_into(dst.slice(0, 1, 3), Tensor::from_f32({2, 3}, {1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(dst.data<float>()[0], 0);
  EXPECT_EQ(dst.data<float>()[3], 1);
  EXPECT_EQ(dst.data<float>()[8], 6);
  EXPECT_THROW(ops::copy_into(dst, Tensor::from_f32({2, 3}, {1, 2, 3, 4, 5, 6})), Error);
  Tensor t = ops::clone(dst.transpose(0, 1));
  EXPECT_EQ(t.shape(), (Shape{3, 4}));
  EXPECT_EQ(t.data<float>()[1], 1);
  Tensor c = ops::concat_rows({Tensor::from_f32({1, 2}, {1, 2}), Tensor::from_f32({2, 2}, {3, 4, 5, 6})});
  EXPECT_EQ(c.shape(), (Shape{3, 2}));
  EXPECT_EQ(c.data<float>()[5], 6);
  Tensor b = ops::cast(Tensor::from_f32({1}, {1.00390625f + 1e-4f}), DType::bf16);
  EXPECT_EQ(ops::cast(b, DType::f32).data<float>()[0], round_bf16(1.00390625f + 1e-4f));
  Tensor r = ops::axpby(Tensor::from_f32({2}, {1, 2}), 3.0f, Tensor::from_f32({2}, {10, 20}), 0.5f);
  EXPECT_EQ(r.data<float>()[1], 16.0f);
  EXPECT_EQ(ops::mul(Tensor::from_f32({2}, {2, 3}), Tensor::from_f32({2}, {4, 5})).data<float>()[1], 15.0f);
}

}  // namespace
}  // namespace mvl
