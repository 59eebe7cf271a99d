// End to end on the GPU (labelled gpu: skips without one): image files -> logits with the
// engine's CUDA defaults (bf16 text and vision activations, classic resize) against the
// composed reference of tests/golden/vl/ (tools/golden/vl/make_vl_goldens.py).
// Tolerance (design.md bf16 rule): rel L2 error vs the reference's f32 logits at most kC times
// the reference's own bf16 run's rel L2 error vs the same f32 logits. --precision f32 on CUDA
// must match like the CPU (the checkpoint is BF16, so f32 weights and bf16 weights agree).
// Run on the GPU machine: ctest --test-dir build -R VlEndToEndCuda
#include <gtest/gtest.h>

#include <cstdio>

#include "kernels/ops/device.h"
#include "tests/engine/vl_e2e_util.h"

namespace mvl {
namespace {

using namespace test;

constexpr double kC = 3.0;        // as tests/llm/text_model_bf16_cuda_test.cpp
constexpr double kRelF32 = 1e-3;  // f32 on the GPU: cuBLAS reductions reorder sums

VlModel open_cuda(std::optional<ops::Precision> precision) {
  const ops::DeviceContext dev = ops::DeviceContext::open(Device::cuda(0));
  return open_vl_model(dev, precision, [&](const auto& cfg, const auto& ckpt) {
    return engine::load_vision_encoder(cfg, ckpt, dev, precision);
  });
}

TEST(VlEndToEndCuda, Bf16DefaultsWithinBf16ToleranceOfTheReference) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const VlModel m = open_cuda(std::nullopt);
  ASSERT_EQ(m.text.precision(), ops::Precision::bf16);  // the CUDA default
  for (const VlCase& c : vl_cases()) {
    SCOPED_TRACE(c.name);
    const VlRows ref = vl_reference("pillow12", c.name);
    const auto got = run_vl_case(m, c, ref.positions);
    const double e = vl_rel_l2(got, ref.f32), hf = vl_rel_l2(ref.bf16, ref.f32);
    std::printf("%s: CUDA bf16 rel L2 %.4g (reference bf16: %.4g, bound %.4g)\n", c.name.c_str(), e,
                hf, kC * hf);
    EXPECT_LE(e, kC * hf);
  }
}

TEST(VlEndToEndCuda, F32MatchesTheReferenceLikeTheCpu) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const VlModel m = open_cuda(ops::Precision::f32);
  for (const VlCase& c : vl_cases()) {
    SCOPED_TRACE(c.name);
    const VlRows ref = vl_reference("pillow12", c.name);
    const auto got = run_vl_case(m, c, ref.positions);
    const double tol = kRelF32 * vl_max_abs(ref.f32);
    int64_t bad = -1;
    const double err = vl_max_err(got, ref.f32, tol, &bad);
    std::printf("%s: CUDA f32 max abs err %.3g (tolerance %.3g)\n", c.name.c_str(), err, tol);
    EXPECT_LE(err, tol);
  }
}

}  // namespace
}  // namespace mvl
