// Desktop thumbnails (area-averaged RGBA for GL upload) and the --device parser.
#include <gtest/gtest.h>

#include "app/desktop/model_loader.h"
#include "app/desktop/thumbnail.h"
#include "tests/support/test_util.h"

namespace mvl::desktop {
namespace {

engine::DecodedImage solid(int64_t w, int64_t h, uint8_t r, uint8_t g, uint8_t b) {
  engine::DecodedImage img;
  img.width = w;
  img.height = h;
  img.rgb.resize(static_cast<size_t>(w * h * 3));
  for (int64_t i = 0; i < w * h; ++i) {
    img.rgb[i * 3] = r;
    img.rgb[i * 3 + 1] = g;
    img.rgb[i * 3 + 2] = b;
  }
  return img;
}

TEST(Thumbnail, AveragesTheCoveredPixels) {
  // 4x2: left half black, right half white (alpha 0 on the right) -> 2x1 box filter.
  engine::DecodedImage img = solid(4, 2, 0, 0, 0);
  img.alpha.assign(8, 255);
  for (int y = 0; y < 2; ++y)
    for (int x = 2; x < 4; ++x) {
      for (int c = 0; c < 3; ++c) img.rgb[(y * 4 + x) * 3 + c] = 255;
      img.alpha[y * 4 + x] = 0;
    }
  img.rgb[0] = 100;  // one red sample in the left box: mean (100 + 0 * 7) / 8 over 2x2 -> 25
  const Thumbnail t = make_thumbnail(img, 2);
  ASSERT_EQ(t.width, 2);
  ASSERT_EQ(t.height, 1);
  ASSERT_EQ(t.rgba.size(), 8u);
  EXPECT_EQ(t.rgba[0], 25);
  EXPECT_EQ(t.rgba[1], 0);
  EXPECT_EQ(t.rgba[3], 255);
  EXPECT_EQ(t.rgba[4], 255);
  EXPECT_EQ(t.rgba[7], 0);
}

TEST(Thumbnail, KeepsAspectAndNeverEnlarges) {
  const Thumbnail wide = make_thumbnail(solid(1000, 10, 1, 2, 3), 100);
  EXPECT_EQ(wide.width, 100);
  EXPECT_EQ(wide.height, 1);
  EXPECT_EQ(wide.rgba[2], 3);
  EXPECT_EQ(wide.rgba[3], 255);  // opaque without alpha
  const Thumbnail tall = make_thumbnail(solid(30, 300, 9, 9, 9), 60);
  EXPECT_EQ(tall.width, 6);
  EXPECT_EQ(tall.height, 60);
  const Thumbnail small = make_thumbnail(solid(5, 7, 0, 0, 0), 96);
  EXPECT_EQ(small.width, 5);
  EXPECT_EQ(small.height, 7);
  EXPECT_THROW(make_thumbnail(solid(5, 7, 0, 0, 0), 0), Error);
  EXPECT_THROW(make_thumbnail(engine::DecodedImage{}, 10), Error);
}

TEST(Thumbnail, LoadsASampleImageAndRefusesJunk) {
  auto t = load_thumbnail(test::source_path("assets/samples/receipt.png"), 64);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(std::max(t->width, t->height), 64);
  EXPECT_EQ(t->rgba.size(), static_cast<size_t>(t->width * t->height * 4));
  const std::string junk = test::temp_dir("thumb") + "/junk.png";
  test::write_text(junk, "nope");
  EXPECT_THROW(load_thumbnail(junk, 64), Error);
}

TEST(DeviceSpec, ParsesCpuCudaAndCudaN) {
  engine::EngineOptions o;
  parse_device("cuda:3", o);
  EXPECT_EQ(o.backend, engine::Backend::cuda);
  EXPECT_EQ(o.device, 3);
  EXPECT_EQ(device_name(o), "cuda:3");
  parse_device("cpu", o);
  EXPECT_EQ(o.backend, engine::Backend::cpu);
  EXPECT_EQ(device_name(o), "cpu");
  parse_device("cuda", o);
  EXPECT_EQ(o.device, 0);
  for (const char* bad : {"", "gpu", "cuda:", "cuda:x", "cuda:-1", "cuda:12345", "CPU"})
    EXPECT_THROW(parse_device(bad, o), Error) << bad;
}

}  // namespace
}  // namespace mvl::desktop
