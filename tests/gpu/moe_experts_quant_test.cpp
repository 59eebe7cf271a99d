// ops::moe_experts on CUDA with f32 activations and quantized experts: the generic path
// (kernels/ops/backend/cuda_moe.cpp: each expert dequantized to f32 per call, then
// kernels/cuda/moe_f32.cu) that RankMoe::generic and every f32-activation MoE run, against its
// CPU twin (cpu::moe_experts on the same int8 / fp8 e4m3 / int4 weights, through ops on the
// host). n = 1 (one token: a decode step) first on a fresh context, then 2, 5, 21; the
// routing made the way llm/parallel's sharded_moe makes it: the CPU's ids narrowed to a rank's
// expert range (other experts -1, held ones renumbered), the host int32 ids copied to the device
// with ops::to_device, and also routed on the device (ids equal to the CPU's) then narrowed the
// same way; experts as per-expert device copies and as views into ops::pack_experts' buffers
// (what sharded weights hold). Within 1e-5 relative L2 (the dequantized values are the CPU's
// exactly; only f32 summation order differs), and a second call gives the same bits. Plain
// bf16 experts run too. Skips without a GPU (fails under MVL_REQUIRE_GPU=1).
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/core/quant_format.h"
#include "kernels/ops/linear.h"
#include "kernels/ops/moe.h"
#include "kernels/ops/quant.h"
#include "kernels/ops/tensor_ops.h"
#include "tests/gpu/ops_parity_util.h"

namespace mvl {
namespace {

using ops_parity::rand_f32;
using ops_parity::rel_l2;

constexpr double kTol = 1e-5;

std::vector<uint8_t> bytes(const Tensor& t) {
  const Tensor h = ops::to_device(t, Device::cpu());
  const auto* p = static_cast<const uint8_t*>(h.data());
  return std::vector<uint8_t>(p, p + h.nbytes());
}

std::string case_name(const std::tuple<int, int64_t>& p) {
  const std::vector<std::string> names = {"bf16", "int8", "fp8", "int4"};
  return names[static_cast<size_t>(std::get<0>(p))] + "_n" + std::to_string(std::get<1>(p));
}

class MoeExpertsQuantCuda : public ops_parity::OpsCudaTest,
                            public ::testing::WithParamInterface<std::tuple<int, int64_t>> {};

TEST_P(MoeExpertsQuantCuda, MatchesTheCpuTwin) {
  const WeightFormat f = std::vector<WeightFormat>{WeightFormat::plain, WeightFormat::int8,
                                                   WeightFormat::fp8_e4m3,
                                                   WeightFormat::int4}[std::get<0>(GetParam())];
  const int64_t n = std::get<1>(GetParam()), E = 8, k = 2;
  for (const auto& [H, I] : {std::pair<int64_t, int64_t>{64, 32}, {256, 128}}) {
    std::vector<ops::ExpertWeights> host_w, dev_w;
    for (int64_t e = 0; e < E; ++e) {
      const auto s = static_cast<uint32_t>(100 + 3 * e);
      auto make = [&](const Shape& shape, uint32_t seed) {
        const Tensor w = ops::cast(rand_f32(shape, seed, -0.2f, 0.2f), DType::bf16);
        return f == WeightFormat::plain ? w : ops::quantize_weight(w, f);
      };
      host_w.push_back({make({I, H}, s), make({I, H}, s + 1), make({H, I}, s + 2)});
      auto up_w = [&](const Tensor& t) {
        return f == WeightFormat::plain ? upw(t) : ops::quant_to_device(t, dev_);
      };
      dev_w.push_back({up_w(host_w.back().w1), up_w(host_w.back().w3), up_w(host_w.back().w2)});
    }
    std::vector<ops::ExpertWeights> views;
    const ops::PackedExperts packed = ops::pack_experts(host_w, dev_, &views);
    ASSERT_TRUE(packed.defined());
    const Tensor x = rand_f32({n, H}, 7 + static_cast<uint32_t>(n));
    const Tensor gate = ops::cast(rand_f32({E, H}, 8, -0.3f, 0.3f), DType::bf16);
    const ops::MoeRouting rc = ops::moe_route(ops::linear(x, gate), k);
    const ops::MoeRouting rg = ops::moe_route(ops::linear(up(x), upw(gate)), k);
    const Tensor xd = up(x);
    // The whole model (tp 1 through the range path) and two ranks' ranges.
    for (const auto& [e0, e1] : {std::pair<int64_t, int64_t>{0, 8}, {2, 6}, {6, 8}}) {
      SCOPED_TRACE(::testing::Message() << weight_format_name(f) << " n " << n << " H " << H
                                        << " I " << I << " experts [" << e0 << ", " << e1 << ")");
      const std::vector<ops::ExpertWeights> held_h(host_w.begin() + e0, host_w.begin() + e1),
          held_d(dev_w.begin() + e0, dev_w.begin() + e1),
          held_v(views.begin() + e0, views.begin() + e1);
      const Tensor ids = ops::local_expert_ids(rc.experts, e0, e1);
      const Tensor want = ops::moe_experts(x, {ids, rc.weights}, held_h);
      // The CPU's routing, host ids copied over (sharded_moe's ops::to_device of a host tensor).
      const ops::MoeRouting from_host{ops::to_device(ids, dev_), ops::to_device(rc.weights, dev_)};
      const Tensor a = ops::moe_experts(xd, from_host, held_d);
      EXPECT_LE(rel_l2(a, want), kTol) << "per-expert device copies";
      EXPECT_LE(rel_l2(ops::moe_experts(xd, from_host, held_v), want), kTol) << "packed views";
      EXPECT_EQ(bytes(ops::moe_experts(xd, from_host, held_d)), bytes(a)) << "a second call";
      // Routed on the device, narrowed on the host, copied back: what sharded_moe runs.
      const Tensor gids = ops::local_expert_ids(rg.experts, e0, e1);
      ASSERT_EQ(std::memcmp(gids.data(), ids.data(), ids.nbytes()), 0) << "device routing ids";
      const ops::MoeRouting dev_route{ops::to_device(gids, dev_), rg.weights};
      EXPECT_LE(rel_l2(ops::moe_experts(xd, dev_route, held_v), want), kTol) << "device routing";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(FormatsTokens, MoeExpertsQuantCuda,
                         ::testing::Combine(::testing::Values(0, 1, 2, 3),
                                            ::testing::Values(int64_t{1}, int64_t{2}, int64_t{5},
                                                              int64_t{21})),
                         [](const auto& i) { return case_name(i.param); });

}  // namespace
}  // namespace mvl
