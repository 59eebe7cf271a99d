// Pillow-exact resampling: properties that must hold whatever the input (identity, constant
// images stay constant, pass order rule, alpha round trip) and the pre-13 pass order against
// a Pillow-made golden (the Pillow 13 order is covered by preprocess_golden_test).

#include "kernels/core/error.h"
#include "tests/support/test_util.h"
#include "vision/image/image.h"
#include "vision/preprocess/pillow_resample.h"
#include "vision/preprocess/preprocess.h"

namespace mvl::vision {
namespace {

std::vector<uint8_t> noise(int64_t n, uint32_t seed) { return test::noise_bytes(n, seed); }

TEST(PillowResample, SameSizeIsACopy) {
  const auto src = noise(17 * 9 * 3, 1);
  EXPECT_EQ(resize_bicubic_u8(src.data(), 17, 9, 3, 17, 9), src);
  EXPECT_EQ(resize_nearest_u8(src.data(), 17, 9, 3, 17, 9), src);
}

TEST(PillowResample, ConstantImageStaysConstantAtEverySize) {
  // Normalised weights sum to 2^22 up to rounding, so a flat image must come back flat
  // (catches wrong window bounds, wrong normalisation or a wrong rounding constant).
  for (uint8_t value : {0, 1, 77, 254, 255}) {
    std::vector<uint8_t> src(31 * 23 * 3, value);
    for (auto [ow, oh] : {std::pair<int64_t, int64_t>{336, 336}, {7, 5}, {31, 100}, {1, 1}, {62, 11}}) {
      const auto out = resize_bicubic_u8(src.data(), 31, 23, 3, ow, oh);
      ASSERT_EQ(out.size(), static_cast<size_t>(ow * oh * 3));
      for (uint8_t v : out) ASSERT_EQ(v, value) << ow << "x" << oh;
    }
  }
}

TEST(PillowResample, PassOrderOnlyMattersWhereTheRuleSaysSo) {
  const auto src = noise(130 * 720 * 3, 2);
  // Height shrinks by 384 px, width grows: Pillow 13 goes vertical first, results differ.
  EXPECT_NE(resize_bicubic_u8(src.data(), 130, 720, 3, 336, 336, PillowPassOrder::pillow13),
            resize_bicubic_u8(src.data(), 130, 720, 3, 336, 336, PillowPassOrder::classic));
  // Width shrinks more than height: both orders are horizontal first, results identical.
  EXPECT_EQ(resize_bicubic_u8(src.data(), 130, 720, 3, 20, 700, PillowPassOrder::pillow13),
            resize_bicubic_u8(src.data(), 130, 720, 3, 20, 700, PillowPassOrder::classic));
}

TEST(PillowResample, ClassicPassOrderMatchesPillowGolden) {
  const Image src = decode_image_file(test::source_path("tests/golden/vision/images/rgb_130x720.png"));
  const Image want =
      decode_image_file(test::source_path("tests/golden/vision/tiles/rgb_130x720_thumb_classic_order.png"));
  ASSERT_EQ(want.width, 336);
  const auto got = resize_bicubic_u8(src.rgb.data(), src.width, src.height, 3, 336, 336, PillowPassOrder::classic);
  EXPECT_EQ(got, want.rgb);
}

TEST(PillowResample, ClassicIsTheDefaultAndNamesRoundTrip) {
  // The release-era order (Pillow <= 12) unless asked otherwise (docs/resize-compat.md).
  const auto src = noise(130 * 720 * 3, 3);
  EXPECT_EQ(resize_bicubic_u8(src.data(), 130, 720, 3, 336, 336),
            resize_bicubic_u8(src.data(), 130, 720, 3, 336, 336, PillowPassOrder::classic));
  EXPECT_EQ(PreprocessOptions{}.pass_order, PillowPassOrder::classic);
  for (PillowPassOrder o : {PillowPassOrder::classic, PillowPassOrder::pillow13})
    EXPECT_EQ(parse_pass_order(pass_order_name(o)), o);
  EXPECT_THROW(parse_pass_order("pillow12"), Error);
}

TEST(PillowResample, NearestPicksSourcePixels) {
  // 4 -> 2 picks source columns floor(1) and floor(3): Pillow samples pixel centres.
  const std::vector<uint8_t> src = {10, 20, 30, 40};
  EXPECT_EQ(resize_nearest_u8(src.data(), 4, 1, 1, 2, 1), (std::vector<uint8_t>{20, 40}));
  EXPECT_EQ(resize_nearest_u8(src.data(), 4, 1, 1, 8, 1), (std::vector<uint8_t>{10, 10, 20, 20, 30, 30, 40, 40}));
}

TEST(PillowResample, PremultiplyRoundTripMatchesPillowFormulas) {
  std::vector<uint8_t> px = {200, 100, 50, 128, 255, 255, 255, 0, 7, 9, 11, 255, 255, 0, 128, 1};
  premultiply_alpha(px.data(), 4);
  // round(c * a / 255) without division; a = 0 clears colour, a = 255 keeps it.
  EXPECT_EQ(px, (std::vector<uint8_t>{100, 50, 25, 128, 0, 0, 0, 0, 7, 9, 11, 255, 1, 0, 1, 1}));
  unpremultiply_alpha(px.data(), 4);
  // floor(255 * c / a), clipped; a = 0 and a = 255 pass through.
  EXPECT_EQ(px, (std::vector<uint8_t>{199, 99, 49, 128, 0, 0, 0, 0, 7, 9, 11, 255, 255, 0, 255, 1}));
}

TEST(PillowResample, RejectsEmptySizes) {
  const std::vector<uint8_t> src(12, 0);
  EXPECT_THROW(resize_bicubic_u8(src.data(), 2, 2, 3, 0, 5), Error);
  EXPECT_THROW(resize_nearest_u8(src.data(), 2, 2, 3, 5, 0), Error);
  EXPECT_THROW(resize_bicubic_u8(src.data(), 2, 2, 5, 1, 1), Error);
}

}  // namespace
}  // namespace mvl::vision
