// The tile map (app/engine/loading/tile_map.h): its geometry matches the preprocessing that
// really runs (with and without a budget), and the text map draws the grid and the kept
// area and sums the tokens.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "app/engine/loading/image_preprocess.h"
#include "app/engine/loading/tile_map.h"
#include "tests/support/test_util.h"
#include "vision/config/vision_config.h"

namespace mvl::engine {
namespace {

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

TEST(TileMap, TheTextMapDrawsTheGridAndTheKeptArea) {
  const TileMap tall = compute_tile_map(420, 3840, vision::PreprocessConfig{}, 0);
  EXPECT_EQ(tall.grid_rows, 6);
  EXPECT_EQ(tall.grid_cols, 1);
  EXPECT_EQ(tall.image_tokens, 576 + tall.unpad_rows * (tall.unpad_cols + 1));
  const std::string text = format_tile_map(tall, "receipt.png", 10000);
  EXPECT_EQ(count(text, "+--------+\n"), 7u) << text;  // 6 rows of tiles
  EXPECT_EQ(count(text, "|.######.|"), 18u) << text;   // padding left and right
  EXPECT_NE(text.find("= 3024 image tokens"), std::string::npos) << text;
  EXPECT_NE(text.find("3024 of the 10000 positions left"), std::string::npos) << text;

  const TileMap wide = compute_tile_map(3200, 300, vision::PreprocessConfig{}, 0);
  const std::string w = format_tile_map(wide, "table.png");
  EXPECT_EQ(count(w, "|########|########|########|########|########|########|"), 1u) << w;
  EXPECT_EQ(count(w, "|........|........|........|........|........|........|"), 2u)
      << w;  // padding rows above and below
  EXPECT_EQ(w.find("context"), std::string::npos);
}

TEST(TileMap, ABudgetIsShownAndMatchesWhatPreprocessingDoes) {
  const TileMap m = compute_tile_map(420, 3840, vision::PreprocessConfig{}, 1500);
  EXPECT_TRUE(m.budget_applied());
  EXPECT_FALSE(m.over_budget());
  EXPECT_EQ(m.released_image_tokens, 3024);
  EXPECT_LE(m.image_tokens, 1500);
  EXPECT_NE(format_tile_map(m, "r").find("instead of the released 6 x 1"), std::string::npos);
  EXPECT_TRUE(compute_tile_map(420, 3840, vision::PreprocessConfig{}, 100).over_budget());

  // The preprocessor (what the vision tower is fed) agrees with the map, budget or not.
  const std::string img = test::source_path("assets/samples/receipt.png");
  const ImagePreprocessor pre = ImagePreprocessor::open("");
  for (int64_t budget : {0, 1000}) {
    ImagePreprocessOptions o;
    o.max_image_tokens = budget;
    const ImagePreprocessReport r = pre.run(img, o);
    const TileMap map = pre.tile_map(r.width, r.height, budget);
    EXPECT_EQ(r.image_tokens, map.image_tokens) << budget;
    EXPECT_EQ(r.tiles, map.tiles()) << budget;
    EXPECT_EQ(r.pixel_values.shape()[0], map.tiles()) << budget;
  }
}

}  // namespace
}  // namespace mvl::engine
