// End to end on the GPU (labelled gpu: skips without one) against the NATIVE transformers
// MiniMax-VL-01 goldens (tests/golden/vl_native/, tools/golden/vl/make_vl_native_goldens.py):
// image files -> logits with the engine's CUDA defaults (bf16, classic resize). Bound as the
// composed CUDA test (design.md bf16 rule): rel L2 vs the native f32 logits at most kC times the
// native port's own bf16 run's rel L2 vs the same f32 logits.
// Run on the GPU machine: ctest --test-dir build -R VlNativeCuda
#include <gtest/gtest.h>

#include <cstdio>

#include "kernels/ops/device.h"
#include "tests/engine/vl_e2e_util.h"

namespace mvl {
namespace {

using namespace test;

constexpr const char* kDir = "vl_native";
constexpr double kC = 3.0;  // as tests/engine/vl_e2e_cuda_test.cpp

TEST(VlNativeCuda, Bf16DefaultsWithinBf16ToleranceOfTheNativePort) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const ops::DeviceContext dev = ops::DeviceContext::open(Device::cuda(0));
  const VlModel m = open_vl_model(dev, std::nullopt, [&](const auto& cfg, const auto& ckpt) {
    return engine::load_vision_encoder(cfg, ckpt, dev, std::nullopt);
  });
  ASSERT_EQ(m.text.precision(), ops::Precision::bf16);  // the CUDA default
  for (const VlCase& c : vl_cases(kDir)) {
    SCOPED_TRACE(c.name);
    const VlRows ref = vl_reference("pillow12", c.name, kDir);
    const auto got = run_vl_case(m, c, ref.positions);
    const double e = vl_rel_l2(got, ref.f32), hf = vl_rel_l2(ref.bf16, ref.f32);
    std::printf("%s: CUDA bf16 rel L2 vs native %.4g (native bf16: %.4g, bound %.4g)\n",
                c.name.c_str(), e, hf, kC * hf);
    EXPECT_LE(e, kC * hf);
  }
}

}  // namespace
}  // namespace mvl
