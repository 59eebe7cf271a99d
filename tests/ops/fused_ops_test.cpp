// The CPU side of the ops added for the bf16 fast path: the fused forms (residual_rms_norm,
// gated_rms_norm, moe) equal the op sequences they replace exactly, batched [B, n, H, d]
// attention equals one sequence at a time, pack_experts is a no-op on the CPU, the dtype-
// choosing embedding/argmax, and bf16 activations on the CPU are refused with a readable
// error rather than misread as f32.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/core/error.h"
#include "kernels/ops/activation.h"
#include "kernels/ops/attention.h"
#include "kernels/ops/embedding.h"
#include "kernels/ops/lightning.h"
#include "kernels/ops/linear.h"
#include "kernels/ops/moe.h"
#include "kernels/ops/rms_norm.h"
#include "kernels/ops/rope.h"
#include "kernels/ops/sampling.h"
#include "kernels/ops/tensor_ops.h"

namespace mvl {
namespace {

Tensor rnd(const Shape& s, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(static_cast<size_t>(shape_numel(s)));
  for (auto& x : v) x = d(rng);
  return Tensor::from_f32(s, v);
}

// Bitwise equality of two f32 tensors of one shape.
void expect_identical(const Tensor& a, const Tensor& b, const std::string& what) {
  ASSERT_EQ(a.shape(), b.shape()) << what;
  ASSERT_EQ(a.dtype(), b.dtype()) << what;
  const Tensor ac = contiguous(a), bc = contiguous(b);
  EXPECT_EQ(std::memcmp(ac.data(), bc.data(), ac.nbytes()), 0) << what;
}

TEST(FusedOps, ResidualAndGatedNormAreTheOpSequences) {
  const Tensor a = rnd({5, 48}, 1), b = rnd({5, 48}, 2), w = rnd({48}, 3, 0.5f, 1.5f);
  const Tensor wb = ops::cast(w, DType::bf16);
  expect_identical(ops::residual_rms_norm(a, 1.68f, b, 1.0f, w, 1e-5f),
                   ops::rms_norm(ops::axpby(a, 1.68f, b, 1.0f), w, 1e-5f), "residual beta 1");
  expect_identical(ops::residual_rms_norm(a, 1.5f, b, 0.8f, wb, 1e-5f),
                   ops::rms_norm(ops::axpby(a, 1.5f, b, 0.8f), wb, 1e-5f), "residual beta 0.8");
  expect_identical(ops::gated_rms_norm(a, w, 1e-6f, b), ops::mul(ops::sigmoid(b), ops::rms_norm(a, w, 1e-6f)),
                   "gated");
  EXPECT_THROW(ops::residual_rms_norm(a, 1.f, rnd({4, 48}, 4), 1.f, w, 1e-5f), Error);
  EXPECT_THROW(ops::gated_rms_norm(a, w, 1e-6f, rnd({5, 47}, 5)), Error);
}

TEST(FusedOps, MoeIsRouteThenExpertsAndPackingIsANoOpOnTheCpu) {
  const int64_t n = 7, H = 16, I = 8, E = 4;
  std::vector<ops::ExpertWeights> experts;
  for (int64_t e = 0; e < E; ++e)
    experts.push_back({rnd({I, H}, 10 + e), rnd({I, H}, 20 + e), rnd({H, I}, 30 + e)});
  const Tensor gate = rnd({E, H}, 40), x = rnd({n, H}, 41);
  for (int64_t k : {1, 2, 3})
    expect_identical(ops::moe(x, gate, k, experts), ops::moe_experts(x, ops::moe_route(ops::linear(x, gate), k), experts),
                     "moe top-" + std::to_string(k));
  std::vector<ops::ExpertWeights> views;
  const ops::PackedExperts p = ops::pack_experts(experts, ops::DeviceContext(), &views);
  EXPECT_FALSE(p.defined());
  ASSERT_EQ(views.size(), experts.size());
  EXPECT_EQ(views[2].w3.data(), experts[2].w3.data());
  EXPECT_THROW(ops::moe(x, rnd({E + 1, H}, 42), 2, experts), Error);  // router rows != experts
}

TEST(FusedOps, BatchedAttentionIsOneSequenceAtATime) {
  const Tensor q = rnd({3, 5, 4, 8}, 50), k = rnd({3, 9, 2, 8}, 51), v = rnd({3, 9, 2, 8}, 52);
  for (bool causal : {false, true}) {
    const Tensor o = ops::attention(q, k, v, 0.3f, causal, 4);
    ASSERT_EQ(o.shape(), q.shape());
    for (int64_t b = 0; b < 3; ++b)
      expect_identical(o.select(0, b), ops::attention(q.select(0, b), k.select(0, b), v.select(0, b), 0.3f, causal, 4),
                       "batch " + std::to_string(b));
  }
  EXPECT_THROW(ops::attention(q, k.select(0, 0), v.select(0, 0), 0.3f, false), Error);  // rank mismatch
  EXPECT_THROW(ops::attention(q, rnd({2, 9, 2, 8}, 53), rnd({2, 9, 2, 8}, 54), 0.3f, false), Error);  // batch
}

TEST(FusedOps, EmbeddingAndArgmaxDtypes) {
  const Tensor table = ops::cast(rnd({30, 12}, 60), DType::bf16);
  const std::vector<int32_t> ids = {3, 0, 29};
  const Tensor e16 = ops::embedding(table, ids, DType::bf16);
  EXPECT_EQ(e16.dtype(), DType::bf16);
  expect_identical(ops::cast(e16, DType::f32), ops::embedding(table, ids), "bf16 embedding");
  expect_identical(ops::embedding(table, ids, DType::f32), ops::embedding(table, ids), "f32 embedding");
  EXPECT_THROW(ops::embedding(table, ids, DType::i32), Error);
  const Tensor logits = rnd({2, 50}, 61);
  const Tensor a16 = ops::argmax_rows(ops::cast(logits, DType::bf16));
  const Tensor r16 = ops::cast(ops::cast(logits, DType::bf16), DType::f32);
  for (int r = 0; r < 2; ++r) EXPECT_EQ(a16.data<int32_t>()[r], ops::argmax(r16.select(0, r)));
}

TEST(FusedOps, Bf16ActivationsOnTheCpuAreRefused) {
  const Tensor x = ops::cast(rnd({4, 16}, 70), DType::bf16), w = rnd({8, 16}, 71), nw = rnd({16}, 72);
  auto refused = [](auto&& f, const char* what) {
    try {
      f();
      ADD_FAILURE() << what << ": bf16 on the CPU was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.category(), ErrorCategory::unsupported) << what << ": " << e.what();
    }
  };
  refused([&] { ops::linear(x, w); }, "linear");
  refused([&] { ops::rms_norm(x, nw, 1e-5f); }, "rms_norm");
  refused([&] { ops::activation(x, "silu"); }, "activation");
  refused([&] { ops::rope(x.view({4, 2, 8}), 0, 8, 1e4); }, "rope");
  const Tensor q = x.view({4, 2, 8});
  refused([&] { ops::attention(q, q, q, 1.f, true); }, "attention");
  Tensor st = Tensor::empty({2, 8, 8}, DType::f32);
  refused([&] { ops::lightning_recurrent(q, q, q, Tensor::from_f32({2}, {0.1f, 0.2f}), st); }, "lightning");
  EXPECT_THROW(ops::axpby(x, 1.f, x, 1.f), Error);
  EXPECT_THROW(ops::mul(x, x), Error);
}

}  // namespace
}  // namespace mvl
