// The ops:: CUDA branches (the generic f32-activation kernels, the *_f32 functions of kernels/cuda) against
// the same ops on the CPU, on awkward shapes: odd sizes, strided views, head dims 16/128,
// GQA, causal offsets, MoE ties. Inputs are identical on both sides (weights bf16), so the
// only difference is f32 summation order: relative L2 error <= 1e-5 (integers exactly).
// Skips without a GPU (fails under MVL_REQUIRE_GPU=1); compiles in CPU-only builds.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/core/error.h"
#include "kernels/ops/activation.h"
#include "kernels/ops/attention.h"
#include "kernels/ops/device.h"
#include "kernels/ops/embedding.h"
#include "kernels/ops/lightning.h"
#include "kernels/ops/linear.h"
#include "kernels/ops/moe.h"
#include "kernels/ops/rms_norm.h"
#include "kernels/ops/rope.h"
#include "kernels/ops/sampling.h"
#include "kernels/ops/tensor_ops.h"
#include "tests/gpu/ops_parity_util.h"
#include "tests/support/test_util.h"

namespace mvl {
namespace {

using ops_parity::rand_f32;
using ops_parity::rel_l2;
using ModelOpsCuda = ops_parity::OpsCudaTest;

constexpr double kTol = 1e-5;

TEST_F(ModelOpsCuda, LinearNormActivationsElementwise) {
  const Tensor x = rand_f32({5, 200}, 1), w = ops::cast(rand_f32({77, 200}, 2), DType::bf16);
  EXPECT_LE(rel_l2(ops::linear(up(x), upw(w)), ops::linear(x, w)), kTol);
  const Tensor nw = ops::cast(rand_f32({200}, 3, 0.5f, 1.5f), DType::bf16);
  for (bool rb : {false, true})
    EXPECT_LE(rel_l2(ops::rms_norm(up(x), upw(nw), 1e-5f, rb), ops::rms_norm(x, nw, 1e-5f, rb)), 1e-2 * rb + kTol);
  for (const char* a : {"silu", "gelu", "quick_gelu"})
    EXPECT_LE(rel_l2(ops::activation(up(x), a), ops::activation(x, a)), kTol) << a;
  EXPECT_LE(rel_l2(ops::sigmoid(up(x)), ops::sigmoid(x)), kTol);
  const Tensor y = rand_f32({5, 200}, 4);
  EXPECT_LE(rel_l2(ops::axpby(up(x), 1.68f, up(y), 0.7f), ops::axpby(x, 1.68f, y, 0.7f)), kTol);
  EXPECT_LE(rel_l2(ops::mul(up(x), up(y)), ops::mul(x, y)), kTol);
  // Strided views: a column slice cloned, and copied into a row range.
  EXPECT_LE(rel_l2(ops::clone(up(x).slice(1, 3, 90)), ops::clone(x.slice(1, 3, 90))), 0.0);
  Tensor d = ops::empty({9, 200}, DType::f32, dev_);
  ops::copy_into(d.slice(0, 2, 7), up(x));
  EXPECT_LE(rel_l2(ops::clone(d.slice(0, 2, 7)), x), 0.0);
  EXPECT_LE(rel_l2(ops::concat_rows({up(x), up(y)}), ops::concat_rows({x, y})), 0.0);
  // Embedding from host ids and device ids, and the row argmax.
  const Tensor table = ops::cast(rand_f32({300, 40}, 5), DType::bf16);
  const std::vector<int32_t> ids = {0, 299, 17, 17, 150};
  EXPECT_LE(rel_l2(ops::embedding(upw(table), ids), ops::embedding(table, ids)), 0.0);
  const Tensor logits = rand_f32({3, 1001}, 6);
  const Tensor am = ops::to_device(ops::argmax_rows(up(logits)), Device::cpu());
  for (int r = 0; r < 3; ++r) EXPECT_EQ(am.data<int32_t>()[r], ops::argmax(logits.select(0, r)));
  EXPECT_EQ(ops::argmax(up(logits.select(0, 1))), ops::argmax(logits.select(0, 1)));
}

TEST_F(ModelOpsCuda, RopeOnStridedHeads) {
  const Tensor qkv = rand_f32({7, 3, 3 * 64}, 7);
  const Tensor v = qkv.slice(2, 64, 128);  // [7, 3, 64] strided
  EXPECT_LE(rel_l2(ops::rope(up(qkv).slice(2, 64, 128), 12345, 32, 1e7), ops::rope(v, 12345, 32, 1e7)), kTol);
}

TEST_F(ModelOpsCuda, LightningPrefillThenDecodeWithState) {
  for (int64_t d : {16, 128}) {
    const int64_t n = 70, H = 3;
    const Tensor qkv = rand_f32({n, H, 3 * d}, 8 + static_cast<uint32_t>(d), -0.3f, 0.3f);
    const Tensor slopes = Tensor::from_f32({H}, {0.9f, 0.05f, 0.003f});
    Tensor s_cpu = rand_f32({H, d, d}, 9, -0.1f, 0.1f);
    Tensor s_gpu = up(s_cpu);
    const Tensor qd = up(qkv);
    auto part = [&](const Tensor& t, int i) { return t.slice(2, i * d, (i + 1) * d); };
    const Tensor o_cpu = ops::lightning_blockwise(part(qkv, 0), part(qkv, 1), part(qkv, 2), slopes, s_cpu, 16);
    const Tensor o_gpu = ops::lightning_blockwise(part(qd, 0), part(qd, 1), part(qd, 2), up(slopes), s_gpu, 16);
    EXPECT_LE(rel_l2(o_gpu, o_cpu), 1e-4) << "d=" << d;
    EXPECT_LE(rel_l2(s_gpu, s_cpu), 1e-4) << "d=" << d;
    const Tensor one = qkv.slice(0, 5, 6), oned = qd.slice(0, 5, 6);
    const Tensor r_cpu = ops::lightning_recurrent(part(one, 0), part(one, 1), part(one, 2), slopes, s_cpu);
    const Tensor r_gpu = ops::lightning_recurrent(part(oned, 0), part(oned, 1), part(oned, 2), up(slopes), s_gpu);
    EXPECT_LE(rel_l2(r_gpu, r_cpu), 1e-4) << "d=" << d;
  }
}

TEST_F(ModelOpsCuda, AttentionGqaCausalOffsetAndLongKeys) {
  for (int64_t nk : {1, 300, 20000}) {
    const int64_t nq = std::min<int64_t>(nk, 3);
    const Tensor q = rand_f32({nq, 4, 64}, 10), kv = rand_f32({nk, 2, 128}, 11);
    const Tensor k = kv.slice(2, 0, 64), v = kv.slice(2, 64, 128);
    const Tensor kd = up(kv);
    for (bool causal : {true, false}) {
      const Tensor c = ops::attention(q, k, v, 0.125f, causal, nk - nq);
      const Tensor g = ops::attention(up(q), kd.slice(2, 0, 64), kd.slice(2, 64, 128), 0.125f, causal, nk - nq);
      EXPECT_LE(rel_l2(g, c), kTol) << "nk=" << nk << " causal=" << causal;
    }
  }
}

TEST_F(ModelOpsCuda, MoeRoutingTiesAndExperts) {
  const int64_t n = 9, H = 48, I = 40, E = 5;
  Tensor logits = rand_f32({n, E}, 12);
  for (int64_t e = 0; e < E; ++e) logits.data<float>()[0 * E + e] = 0.25f;  // all tied: lowest ids win
  logits.data<float>()[1 * E + 3] = logits.data<float>()[1 * E + 1] = 2.0f;  // tie for the top
  const ops::MoeRouting rc = ops::moe_route(logits, 2);
  const ops::MoeRouting rg = ops::moe_route(up(logits), 2);
  const Tensor ge = ops::to_device(rg.experts, Device::cpu());
  for (int64_t i = 0; i < n * 2; ++i) EXPECT_EQ(ge.data<int32_t>()[i], rc.experts.data<int32_t>()[i]) << i;
  EXPECT_LE(rel_l2(rg.weights, rc.weights), kTol);
  std::vector<ops::ExpertWeights> wc, wg;
  for (int64_t e = 0; e < E; ++e) {
    const uint32_t s = 20 + 3 * static_cast<uint32_t>(e);
    wc.push_back({ops::cast(rand_f32({I, H}, s), DType::bf16), ops::cast(rand_f32({I, H}, s + 1), DType::bf16),
                  ops::cast(rand_f32({H, I}, s + 2), DType::bf16)});
    wg.push_back({upw(wc.back().w1), upw(wc.back().w3), upw(wc.back().w2)});
  }
  const Tensor x = rand_f32({n, H}, 13);
  EXPECT_LE(rel_l2(ops::moe_experts(up(x), rg, wg), ops::moe_experts(x, rc, wc)), kTol);
}

TEST_F(ModelOpsCuda, MixedDevicesAreRefused) {
  const Tensor x = rand_f32({2, 8}, 14), w = rand_f32({3, 8}, 15);
  EXPECT_THROW(ops::linear(up(x), w), Error);
  EXPECT_THROW(ops::axpby(up(x), 1.f, x, 1.f), Error);
}

}  // namespace
}  // namespace mvl
