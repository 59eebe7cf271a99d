// End to end on the CPU against the NATIVE transformers MiniMax-VL-01 (minimax_vl_01: its PIL
// image processor + MiniMaxVL01ForConditionalGeneration, run from the transformers source;
// tools/golden/vl/make_vl_native_goldens.py, tests/golden/vl_native/): image files -> our
// engine with the DEFAULT options -> logits, for the same model, images and prompts as the
// composed goldens (tall, wide, tiny, page, 1-3 images). Pillow <= 12 run for the defaults,
// Pillow 13 run for resize_compat = pillow13.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <memory>
#include <optional>

#include "app/engine/core/options.h"
#include "tests/engine/vl_e2e_util.h"

namespace mvl {
namespace {

using namespace test;

constexpr const char* kDir = "vl_native";
// CPU f32 bound, as the composed goldens: max abs err <= 1e-4 * max |reference|.
constexpr double kRel = 1e-4;

const VlModel& model_with(std::optional<vision::PillowPassOrder> order) {
  static std::map<int, std::unique_ptr<VlModel>> cache;
  auto& slot = cache[order ? static_cast<int>(*order) : -1];
  if (!slot) {
    slot = std::make_unique<VlModel>(
        open_vl_model({}, std::nullopt, [&](const auto& cfg, const auto& ckpt) {
          // No order: the defaults, exactly as the commands without --resize-compat.
          return order ? engine::load_vision_encoder(cfg, ckpt, {}, std::nullopt, *order)
                       : engine::load_vision_encoder(cfg, ckpt);
        }));
  }
  return *slot;
}

void expect_matches(const VlModel& m, const std::string& name, const std::string& pillow) {
  bool found = false;
  for (const VlCase& c : vl_cases(kDir)) {
    if (c.name != name) continue;
    found = true;
    const VlRows ref = vl_reference(pillow, c.name, kDir);
    const auto got = run_vl_case(m, c, ref.positions);
    const double tol = kRel * vl_max_abs(ref.f32);
    int64_t bad = -1;
    const double err = vl_max_err(got, ref.f32, tol, &bad);
    std::printf("%s vs native %s: %zu rows, max abs err %.3g (tolerance %.3g)\n", c.name.c_str(),
                pillow.c_str(), ref.positions.size(), err, tol);
    EXPECT_LE(err, tol) << c.name << " vs the native " << pillow
                        << " reference; first bad position "
                        << (bad >= 0 ? ref.positions[static_cast<size_t>(bad)] : -1);
  }
  EXPECT_TRUE(found) << name << " is not in tests/golden/vl_native/manifest.json";
}

class VlNative : public ::testing::TestWithParam<std::string> {};

TEST_P(VlNative, DefaultOptionsMatchTheNativePortOnPillow12) {
  expect_matches(model_with(std::nullopt), GetParam(), "pillow12");
}

TEST_P(VlNative, Pillow13CompatMatchesTheNativePortOnPillow13) {
  expect_matches(model_with(vision::PillowPassOrder::pillow13), GetParam(), "pillow13");
}

INSTANTIATE_TEST_SUITE_P(Cases, VlNative,
                         ::testing::Values("tall", "wide", "tiny", "page", "two_images",
                                           "three_images"),
                         [](const auto& info) { return info.param; });

// The native goldens tell the pass orders apart too: the default (classic) run is far from the
// native Pillow 13 run on the tall image, so the default test above cannot pass with Pillow 13's
// order.
TEST(VlNativeDefaults, TallImageDefaultDiffersFromNativePillow13) {
  for (const VlCase& c : vl_cases(kDir)) {
    if (c.name != "tall") continue;
    const VlRows p13 = vl_reference("pillow13", c.name, kDir);
    const auto got = run_vl_case(model_with(std::nullopt), c, p13.positions);
    int64_t bad = -1;
    const double err = vl_max_err(got, p13.f32, 0.0, &bad);
    EXPECT_GT(err, 100 * kRel * vl_max_abs(p13.f32)) << "default resize looks like Pillow 13's";
  }
}

}  // namespace
}  // namespace mvl
