// Anyres preprocessing against the Pillow reference (tests/golden/vision, made by
// tools/golden/vision/make_vision_goldens.py): geometry and token count for every golden
// size, and exact uint8 tiles + fp32 pixel values for the pixel cases.
#include <cmath>
#include <cstdio>

#include "kernels/core/error.h"
#include "kernels/core/json.h"
#include "kernels/core/safetensors.h"
#include "tests/support/test_util.h"
#include "vision/image/image.h"
#include "vision/preprocess/anyres.h"
#include "vision/preprocess/preprocess.h"

namespace mvl::vision {
namespace {

std::string golden(const std::string& rel) { return test::source_path("tests/golden/vision/" + rel); }

// tests/golden/vision/ was made with Pillow 13.0.0 (manifest.json), so its tiles follow
// Pillow 13's pass order, not the classic default.
const PreprocessOptions kMadeWithPillow13{PillowPassOrder::pillow13, {}};

TEST(PreprocessGolden, GeometryAndTokenCountForEveryGoldenSize) {
  const json::Json g = json::parse_file(golden("geometry.json"));
  PreprocessConfig cfg;
  // The golden's pinpoints are the released list: the config default must equal it.
  std::vector<Pinpoint> golden_pins;
  for (const auto& p : g.at("pinpoints")) golden_pins.emplace_back(p.at(0).get<int64_t>(), p.at(1).get<int64_t>());
  ASSERT_EQ(cfg.pinpoints, golden_pins);
  int checked = 0, errors = 0;
  for (const auto& c : g.at("cases")) {
    const int64_t w = c.at("width").get<int64_t>(), h = c.at("height").get<int64_t>();
    SCOPED_TRACE(fmt::format("{}x{}", w, h));
    if (c.contains("reference_error")) {
      EXPECT_THROW(anyres_layout(w, h, cfg), Error);
      ++errors;
      continue;
    }
    const AnyresLayout l = anyres_layout(w, h, cfg);
    EXPECT_EQ(l.best_resolution.first, c.at("best_resolution").at(0).get<int64_t>());
    EXPECT_EQ(l.best_resolution.second, c.at("best_resolution").at(1).get<int64_t>());
    EXPECT_EQ(l.grid_rows, c.at("grid").at(0).get<int64_t>());
    EXPECT_EQ(l.grid_cols, c.at("grid").at(1).get<int64_t>());
    EXPECT_EQ(l.num_tiles(), c.at("tiles").get<int64_t>());
    EXPECT_EQ(l.image_tokens(), c.at("image_tokens").get<int64_t>());
    EXPECT_EQ(l.unpad.row_begin, c.at("unpad").at(0).get<int64_t>());
    EXPECT_EQ(l.unpad.rows, c.at("unpad").at(1).get<int64_t>());
    EXPECT_EQ(l.unpad.col_begin, c.at("unpad").at(2).get<int64_t>());
    EXPECT_EQ(l.unpad.cols, c.at("unpad").at(3).get<int64_t>());
    if (c.contains("pixels_error")) {
      EXPECT_THROW(keep_ratio_placement(w, h, l.best_resolution.first, l.best_resolution.second), Error);
      ++errors;
    } else {
      const CanvasPlacement p = keep_ratio_placement(w, h, l.best_resolution.first, l.best_resolution.second);
      EXPECT_EQ(p.new_width, c.at("placement").at(0).get<int64_t>());
      EXPECT_EQ(p.new_height, c.at("placement").at(1).get<int64_t>());
      EXPECT_EQ(p.x0, c.at("placement").at(2).get<int64_t>());
      EXPECT_EQ(p.y0, c.at("placement").at(3).get<int64_t>());
    }
    ++checked;
  }
  EXPECT_GE(checked, 30);
  EXPECT_GE(errors, 1);  // the golden includes sizes the reference cannot process
}

// Reads a tiles strip (RGB PNG, 336 wide, 336*T tall) as u8 [T, 336, 336, 3].
std::vector<uint8_t> read_strip(const std::string& rel, int64_t tiles) {
  const Image s = decode_image_file(golden(rel));
  EXPECT_EQ(s.width, 336);
  EXPECT_EQ(s.height, 336 * tiles);
  return s.rgb;
}

TEST(PreprocessGolden, TilesAndPixelValuesMatchPillowExactly) {
  const json::Json m = json::parse_file(golden("manifest.json"));
  const auto table_file = SafetensorsFile::open(golden("normalize_table.safetensors"));
  const Tensor table = table_file->get("normalize_table");  // f32 [3, 256]
  ASSERT_EQ(table.shape(), (Shape{3, 256}));
  const float* tab = table.data<float>();
  PreprocessConfig cfg;
  int cases = 0;
  for (const auto& c : m.at("pixel_cases")) {
    const std::string name = c.at("name").get<std::string>();
    SCOPED_TRACE(name);
    Image img = decode_image_file(golden(c.at("source").get<std::string>()));
    ASSERT_EQ(img.width, c.at("width").get<int64_t>());
    ASSERT_EQ(img.height, c.at("height").get<int64_t>());
    EXPECT_EQ(img.source_mode, c.at("mode").get<std::string>());
    if (c.contains("decoded_png")) {  // JPEG: our decoder against PIL's
      const Image pil = decode_image_file(golden(c.at("decoded_png").get<std::string>()));
      ASSERT_EQ(pil.rgb.size(), img.rgb.size());
      size_t diff = 0;
      for (size_t i = 0; i < pil.rgb.size(); ++i) diff += pil.rgb[i] != img.rgb[i];
      if (jpeg_decode_matches_pillow()) {
        EXPECT_EQ(diff, 0u) << "JPEG decode differs from PIL's in " << diff << " samples";
      } else {
        // stb_image's JPEG decoder is not PIL's (vision/image/image.h): say by how much, then
        // check the resize and tiling from PIL's own decoded samples, which must still be exact.
        std::printf("%s: stb_image JPEG decode differs from PIL's in %zu of %zu samples (build "
                    "without OpenCV); tiles checked from PIL's decode\n",
                    name.c_str(), diff, pil.rgb.size());
        img.rgb = pil.rgb;
      }
    }
    const PreprocessResult r = preprocess(img, cfg, kMadeWithPillow13);
    EXPECT_EQ(r.best_resolution().first, c.at("best_resolution").at(0).get<int64_t>());
    EXPECT_EQ(r.best_resolution().second, c.at("best_resolution").at(1).get<int64_t>());
    const int64_t T = c.at("tiles").get<int64_t>();
    ASSERT_EQ(r.num_tiles(), T);
    const std::vector<uint8_t> want = read_strip(c.at("tiles_png").get<std::string>(), T);
    ASSERT_EQ(want.size(), r.tiles_u8.size());
    size_t bad = 0, first_bad = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      if (want[i] != r.tiles_u8[i] && bad++ == 0) first_bad = i;
    }
    EXPECT_EQ(bad, 0u) << "first differing byte: tile " << first_bad / (336 * 336 * 3) << ", y "
                       << first_bad / (336 * 3) % 336 << ", x " << first_bad / 3 % 336 << ", channel " << first_bad % 3
                       << ": got " << int(r.tiles_u8[first_bad]) << ", want " << int(want[first_bad]);
    // pixel_values vs the reference ToTensor+Normalize of the golden bytes.
    ASSERT_EQ(r.pixel_values.shape(), (Shape{T, 3, 336, 336}));
    const float* pv = r.pixel_values.data<float>();
    double max_diff = 0.0, sum = 0.0;
    for (int64_t t = 0; t < T; ++t)
      for (int64_t ch = 0; ch < 3; ++ch)
        for (int64_t i = 0; i < 336 * 336; ++i) {
          const float got = pv[(t * 3 + ch) * 336 * 336 + i];
          const float ref = tab[ch * 256 + want[static_cast<size_t>((t * 336 * 336 + i) * 3 + ch)]];
          max_diff = std::max(max_diff, static_cast<double>(std::fabs(got - ref)));
          sum += got;
        }
    EXPECT_LE(max_diff, 1e-6);
    EXPECT_NEAR(sum, c.at("pixel_sum").get<double>(), 1e-3 * std::max(1.0, std::fabs(sum)));
    ++cases;
  }
  EXPECT_GE(cases, 5);
}

TEST(PreprocessGolden, NormalizeTableEqualsTheFormula) {
  const auto f = SafetensorsFile::open(golden("normalize_table.safetensors"));
  const Tensor table = f->get("normalize_table");
  PreprocessConfig cfg;
  std::vector<uint8_t> ramp(256 * 3);
  for (int v = 0; v < 256; ++v) ramp[v * 3] = ramp[v * 3 + 1] = ramp[v * 3 + 2] = static_cast<uint8_t>(v);
  std::vector<float> out(3 * 256);
  normalize_tile(ramp.data(), 1, 256, cfg, out.data());
  for (int i = 0; i < 3 * 256; ++i) EXPECT_EQ(out[i], table.data<float>()[i]) << i;  // bit-exact
}

}  // namespace
}  // namespace mvl::vision
