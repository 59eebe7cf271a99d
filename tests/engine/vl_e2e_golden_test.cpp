// End to end on the CPU: image files -> our preprocessing, ViT, projector, packing and text
// model -> logits, against the reference composed from transformers and Pillow
// (tools/golden/vl/make_vl_goldens.py; tests/golden/vl/). Tall, wide, tiny and page images,
// 1-3 images per prompt. With the DEFAULT options the result must match the reference run on
// a Pillow <= 12 (classic resize pass order); with resize_compat = pillow13 it must match the
// reference run on Pillow 13. The tall image's tiles differ between the two, so the test also
// shows that the default is not Pillow 13's order.
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

// CPU f32 bound, as the text and vision goldens: max abs err <= 1e-4 * max |reference|.
constexpr double kRel = 1e-4;

const VlModel& model_with(vision::PillowPassOrder order, bool use_default) {
  static std::map<int, std::unique_ptr<VlModel>> cache;
  const int key = use_default ? -1 : static_cast<int>(order);
  auto& slot = cache[key];
  if (!slot) {
    slot = std::make_unique<VlModel>(
        open_vl_model({}, std::nullopt, [&](const auto& cfg, const auto& ckpt) {
          // The default: no resize argument at all, as the parity commands without --resize-compat.
          return use_default ? engine::load_vision_encoder(cfg, ckpt)
                             : engine::load_vision_encoder(cfg, ckpt, {}, std::nullopt, order);
        }));
  }
  return *slot;
}

void expect_matches(const VlModel& m, const VlCase& c, const std::string& pillow) {
  const VlRows ref = vl_reference(pillow, c.name);
  const auto got = run_vl_case(m, c, ref.positions);
  const double tol = kRel * vl_max_abs(ref.f32);
  int64_t bad = -1;
  const double err = vl_max_err(got, ref.f32, tol, &bad);
  std::printf("%s vs %s: %zu rows, max abs err %.3g (tolerance %.3g)\n", c.name.c_str(),
              pillow.c_str(), ref.positions.size(), err, tol);
  EXPECT_LE(err, tol) << c.name << " vs the " << pillow << " reference; first bad position "
                      << (bad >= 0 ? ref.positions[static_cast<size_t>(bad)] : -1);
}

class VlEndToEnd : public ::testing::TestWithParam<std::string> {};

TEST_P(VlEndToEnd, DefaultOptionsMatchTheClassicPillowReference) {
  for (const VlCase& c : vl_cases())
    if (c.name == GetParam())
      expect_matches(model_with(vision::PillowPassOrder::classic, true), c, "pillow12");
}

TEST_P(VlEndToEnd, Pillow13CompatMatchesThePillow13Reference) {
  for (const VlCase& c : vl_cases())
    if (c.name == GetParam())
      expect_matches(model_with(vision::PillowPassOrder::pillow13, false), c, "pillow13");
}

INSTANTIATE_TEST_SUITE_P(Cases, VlEndToEnd,
                         ::testing::Values("tall", "wide", "tiny", "page", "two_images",
                                           "three_images"),
                         [](const auto& info) { return info.param; });

TEST(VlEndToEndDefaults, EngineOptionsDefaultToClassic) {
  EXPECT_EQ(engine::EngineOptions{}.resize_compat, vision::PillowPassOrder::classic);
}

// The goldens can tell the orders apart: the tall image's logits under the default (classic)
// order are far from the Pillow 13 reference. Without this, the tests above could pass with
// either order.
TEST(VlEndToEndDefaults, TallImageDefaultDiffersFromPillow13) {
  for (const VlCase& c : vl_cases()) {
    if (c.name != "tall") continue;
    const VlRows p13 = vl_reference("pillow13", c.name);
    const auto got =
        run_vl_case(model_with(vision::PillowPassOrder::classic, true), c, p13.positions);
    int64_t bad = -1;
    const double err = vl_max_err(got, p13.f32, 0.0, &bad);
    EXPECT_GT(err, 100 * kRel * vl_max_abs(p13.f32)) << "default resize looks like Pillow 13's";
  }
}

}  // namespace
}  // namespace mvl
