// Anyres geometry: the spec's worked examples (§3.12), the double-rounding quirk (§3.3), tie
// order, unpad floors, placeholder expansion (§3.11) and the packing index table (§5.2).
#include "kernels/core/error.h"
#include "tests/support/test_util.h"
#include "vision/model/packing.h"
#include "vision/preprocess/anyres.h"

namespace mvl::vision {
namespace {

struct Example {
  int64_t w, h, W, H, rows, cols, tokens;
};

TEST(Anyres, SpecWorkedExamples) {
  const Example ex[] = {
      {336, 336, 336, 336, 24, 24, 1176},   {224, 224, 336, 336, 24, 24, 1176},
      {300, 200, 336, 336, 16, 24, 976},    {337, 336, 672, 336, 24, 24, 1176},
      {640, 480, 672, 672, 36, 48, 2340},   {800, 800, 1008, 1008, 72, 72, 5832},
      {1024, 768, 1344, 1008, 72, 96, 7560}, {768, 1024, 1008, 1344, 96, 72, 7584},
      {1920, 1080, 2016, 1008, 72, 128, 9864}, {2000, 500, 2016, 672, 36, 144, 5796},
      {3000, 1000, 2016, 672, 48, 144, 7536}, {2000, 2000, 1344, 1344, 96, 96, 9888},
      {1008, 2016, 1008, 2016, 144, 72, 11088},
  };
  const PreprocessConfig cfg;
  for (const Example& e : ex) {
    SCOPED_TRACE(fmt::format("{}x{}", e.w, e.h));
    const AnyresLayout l = anyres_layout(e.w, e.h, cfg);
    EXPECT_EQ(l.best_resolution, (Pinpoint{e.W, e.H}));
    EXPECT_EQ(l.grid_rows, e.H / 336);
    EXPECT_EQ(l.grid_cols, e.W / 336);
    EXPECT_EQ(l.unpad.rows, e.rows);
    EXPECT_EQ(l.unpad.cols, e.cols);
    EXPECT_EQ(l.image_tokens(), e.tokens);
  }
}

TEST(Anyres, DoubleRoundingQuirkIsReproduced) {
  // 13 * (1008 / 13) == 1007.99... in doubles, so 336x1008 loses a pixel row against the
  // alternatives and a naive exact implementation would choose differently.
  const double s = 1008.0 / 13.0;
  EXPECT_EQ(static_cast<int64_t>(13.0 * s), 1007);
  EXPECT_EQ(select_best_resolution(13, 1008, PreprocessConfig{}.pinpoints), (Pinpoint{336, 1008}));
}

TEST(Anyres, FirstCandidateWinsExactTies) {
  // 100x100 fits 336x336 and 672x672 with the same effective pixels (10000); the smaller
  // waste wins; with equal waste the first in file order wins.
  EXPECT_EQ(select_best_resolution(100, 100, {{672, 672}, {336, 336}}), (Pinpoint{336, 336}));
  EXPECT_EQ(select_best_resolution(100, 50, {{336, 672}, {672, 336}, {336, 672}}), (Pinpoint{336, 672}));
  EXPECT_EQ(select_best_resolution(100, 100, {{336, 672}, {672, 336}}), (Pinpoint{336, 672}));
  EXPECT_EQ(select_best_resolution(100, 100, {{672, 336}, {336, 672}}), (Pinpoint{672, 336}));
}

TEST(Anyres, InvalidInputsThrow) {
  const PreprocessConfig cfg;
  EXPECT_THROW(anyres_layout(0, 10, cfg), Error);
  EXPECT_THROW(anyres_layout(10, -1, cfg), Error);
  // Every candidate scales 100000x1 to 0 effective pixels: the reference keeps the first
  // candidate with the least waste (336x336); the keep-ratio resize then has no rows.
  EXPECT_EQ(anyres_layout(100000, 1, cfg).best_resolution, (Pinpoint{336, 336}));
  EXPECT_THROW(keep_ratio_placement(100000, 1, 336, 336), Error);
  PreprocessConfig bad = cfg;
  bad.pinpoints = {{336, 500}};
  EXPECT_THROW(anyres_layout(10, 10, bad), Error);
  bad.pinpoints.clear();
  EXPECT_THROW(anyres_layout(10, 10, bad), Error);
}

TEST(Anyres, UnpadUsesIntegerFloors) {
  // 1920x1080 on 144x72 features: new_w = floor(1920*72/1080) = 128, pad 8.
  const UnpadWindow u = unpad_window(1920, 1080, 144, 72);
  EXPECT_EQ(u.col_begin, 8);
  EXPECT_EQ(u.cols, 128);
  EXPECT_EQ(u.rows, 72);
  // A 1-px-wide strip keeps no feature columns at all: only newlines remain.
  const UnpadWindow v = unpad_window(1, 100, 24, 24);
  EXPECT_EQ(v.cols, 0);
  EXPECT_EQ(v.rows, 24);
}

TEST(Anyres, PlaceholderExpansion) {
  EXPECT_EQ(expand_image_placeholders("a<image>b<image>c", {2, 3}), "a<image><image>b<image><image><image>c");
  EXPECT_EQ(expand_image_placeholders("no images", {}), "no images");
  EXPECT_EQ(expand_image_placeholders("<image>", {1}), "<image>");
  EXPECT_THROW(expand_image_placeholders("a<image>b", {}), Error);
  EXPECT_THROW(expand_image_placeholders("a<image>b", {2, 2}), Error);
  EXPECT_THROW(expand_image_placeholders("<image><image>", {1}), Error);
  EXPECT_THROW(expand_image_placeholders("<image>", {0}), Error);
}

TEST(Anyres, PackingIndicesFollowSpecOrder) {
  // 2 x 1 grid (tall image): base tile rows 0..575, then the 48 x 24 map with a newline per row.
  const AnyresLayout l = anyres_layout(336, 672, PreprocessConfig{});
  const std::vector<int32_t> idx = packing_indices(l);
  ASSERT_EQ(static_cast<int64_t>(idx.size()), l.image_tokens());
  for (int32_t i = 0; i < 576; ++i) ASSERT_EQ(idx[i], i);
  const int32_t newline = 3 * 576;
  // Feature-map row 0: tile 1, its row 0; then a newline.
  for (int32_t c = 0; c < 24; ++c) EXPECT_EQ(idx[576 + c], 576 + c);
  EXPECT_EQ(idx[576 + 24], newline);
  // Feature-map row 24 is row 0 of tile 2.
  EXPECT_EQ(idx[576 + 24 * 25], 2 * 576);
  EXPECT_EQ(idx.back(), newline);
  // A wide 1 x 2 grid: row 0 runs through tile 1 then tile 2.
  const AnyresLayout w = anyres_layout(672, 336, PreprocessConfig{});
  const std::vector<int32_t> wi = packing_indices(w);
  EXPECT_EQ(wi[576 + 23], 576 + 23);
  EXPECT_EQ(wi[576 + 24], 2 * 576);
  EXPECT_EQ(wi[576 + 48], 3 * 576);
}

}  // namespace
}  // namespace mvl::vision
