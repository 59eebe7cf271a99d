// The per-image token budget (--max-image-tokens, vision::pinpoints_within_budget): no
// budget, or one the released grid meets, changes nothing; a smaller budget picks the best
// grid that fits; an impossible one takes the cheapest grid.
#include <gtest/gtest.h>

#include "vision/config/vision_config.h"
#include "vision/preprocess/anyres.h"

namespace mvl::vision {
namespace {

AnyresLayout with_budget(int64_t w, int64_t h, int64_t budget) {
  PreprocessConfig cfg;
  cfg.pinpoints = pinpoints_within_budget(w, h, PreprocessConfig{}, budget);
  return anyres_layout(w, h, cfg);
}

TEST(AnyresBudget, NoBudgetOrAMetOneKeepsTheReleasedChoice) {
  const PreprocessConfig cfg;
  EXPECT_EQ(pinpoints_within_budget(1700, 2200, cfg, 0), cfg.pinpoints);
  const int64_t released = anyres_layout(1700, 2200, cfg).image_tokens();
  EXPECT_EQ(pinpoints_within_budget(1700, 2200, cfg, released), cfg.pinpoints);
  EXPECT_EQ(with_budget(1700, 2200, released).image_tokens(), released);
}

TEST(AnyresBudget, ASmallerBudgetPicksTheBestGridThatFits) {
  const PreprocessConfig cfg;
  // A tall receipt: the released choice is a 6 x 1 strip (3,024 tokens).
  const AnyresLayout released = anyres_layout(420, 3840, cfg);
  ASSERT_EQ(released.grid_rows, 6);
  ASSERT_EQ(released.image_tokens(), 3024);
  for (int64_t budget : {3000, 2000, 1500, 1224, 1000}) {
    const AnyresLayout l = with_budget(420, 3840, budget);
    EXPECT_LE(l.image_tokens(), budget) << budget;
    // The best one that fits: no pinpoint within the budget has more effective pixels.
    for (const Pinpoint& p : cfg.pinpoints) {
      PreprocessConfig one;
      one.pinpoints = {p};
      const AnyresLayout c = anyres_layout(420, 3840, one);
      if (c.image_tokens() > budget) continue;
      EXPECT_EQ(select_best_resolution(420, 3840, {l.best_resolution, p}), l.best_resolution)
          << "budget " << budget << ": " << p.first << "x" << p.second << " fits and is better";
    }
  }
  EXPECT_EQ(with_budget(420, 3840, 1500).grid_rows, 3);
}

TEST(AnyresBudget, AnImpossibleBudgetTakesTheCheapestGrid) {
  const PreprocessConfig cfg;
  const AnyresLayout l = with_budget(3200, 300, 100);  // below the thumbnail's 576 alone
  int64_t cheapest = INT64_MAX;
  for (const Pinpoint& p : cfg.pinpoints) {
    PreprocessConfig one;
    one.pinpoints = {p};
    cheapest = std::min(cheapest, anyres_layout(3200, 300, one).image_tokens());
  }
  EXPECT_EQ(l.image_tokens(), cheapest);
  EXPECT_EQ(pinpoints_within_budget(3200, 300, cfg, 100).size(), 1u);
}

}  // namespace
}  // namespace mvl::vision
