// `minimax-vl preprocess`: JSON keys and values against the Pillow goldens, the --out dump
// against the reference pixel values, and one-line errors with the input exit code.
#include <cmath>

#include "kernels/core/json.h"
#include "kernels/core/safetensors.h"
#include "tests/support/test_util.h"
#include "vision/image/image.h"

namespace mvl {
namespace {

std::string golden(const std::string& rel) { return test::source_path("tests/golden/vision/" + rel); }

int count_lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

TEST(PreprocessCli, JsonMatchesTheGoldensForEveryPixelCase) {
  const json::Json m = json::parse_file(golden("manifest.json"));
  for (const auto& c : m.at("pixel_cases")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const auto r = test::run_cli({"preprocess", "--image", golden(c.at("source").get<std::string>()), "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(count_lines(r.out), 1);
    const json::Json j = json::parse(r.out, "preprocess --json");
    EXPECT_EQ(j.at("width"), c.at("width"));
    EXPECT_EQ(j.at("height"), c.at("height"));
    EXPECT_EQ(j.at("best_resolution"), c.at("best_resolution"));
    EXPECT_EQ(j.at("tiles"), c.at("tiles"));
    const int64_t W = c.at("best_resolution").at(0).get<int64_t>(), H = c.at("best_resolution").at(1).get<int64_t>();
    EXPECT_EQ(j.at("grid"), json::Json::array({H / 336, W / 336}));
    EXPECT_TRUE(j.at("image_tokens").is_number_integer());
  }
}

TEST(PreprocessCli, TokenCountsMatchGeometryGolden) {
  // One real image per golden geometry would be heavy; the count for the 500x300 case is
  // checked here end to end, the other sizes by preprocess_golden_test.
  const json::Json g = json::parse_file(golden("geometry.json"));
  const auto r = test::run_cli({"preprocess", "--image", golden("images/rgb_500x300.png"), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json::Json j = json::parse(r.out, "preprocess --json");
  bool found = false;
  for (const auto& c : g.at("cases")) {
    if (c.at("width") == 500 && c.at("height") == 300) {
      EXPECT_EQ(j.at("image_tokens"), c.at("image_tokens"));
      found = true;
    }
  }
  if (!found) EXPECT_EQ(j.at("image_tokens").get<int64_t>(), 576 + 24 * 41);  // spec §3.10 by hand
}

TEST(PreprocessCli, ReportsTheTimeOfEachStage) {
  // Presence and sanity only (timings are never asserted): the four stages in --json, and
  // the text line sums them.
  const auto r = test::run_cli({"preprocess", "--image", golden("images/rgb_500x300.png"), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json::Json t = json::parse(r.out, "preprocess --json").at("timings_ms");
  for (const char* k : {"decode", "resize", "tiles", "normalize"}) {
    ASSERT_TRUE(t.contains(k)) << k;
    EXPECT_GE(t.at(k).get<double>(), 0.0) << k;
  }
  const auto text = test::run_cli({"preprocess", "--image", golden("images/rgb_500x300.png")});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("ms = decode "), std::string::npos) << text.out;
}

TEST(PreprocessCli, OutDumpsReferencePixelValues) {
  const std::string dir = test::temp_dir("preprocess-cli");
  const std::string out = dir + "/pv.safetensors";
  const auto r = test::run_cli({"preprocess", "--image", golden("images/rgba_300x200.png"), "--out", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("image tokens:"), std::string::npos) << r.out;
  const auto f = SafetensorsFile::open(out);
  const Tensor pv = f->get("pixel_values");
  ASSERT_EQ(pv.shape(), (Shape{2, 3, 336, 336}));
  const Tensor sizes = f->get("image_sizes");
  EXPECT_EQ(sizes.data<int64_t>()[0], 200);  // [h, w] like the reference's image_sizes
  EXPECT_EQ(sizes.data<int64_t>()[1], 300);
  // Rebuild the reference pixel values from the Pillow tiles and the torch normalisation table.
  const auto tf = SafetensorsFile::open(golden("normalize_table.safetensors"));
  const float* table = tf->get("normalize_table").data<float>();  // f32 [3, 256]
  const vision::Image strip = vision::decode_image_file(golden("tiles/rgba_300x200.png"));
  ASSERT_EQ(strip.rgb.size(), static_cast<size_t>(2 * 336 * 336 * 3));
  double max_diff = 0;
  for (int64_t t = 0; t < 2; ++t)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t i = 0; i < 336 * 336; ++i) {
        const float want = table[c * 256 + strip.rgb[static_cast<size_t>((t * 336 * 336 + i) * 3 + c)]];
        max_diff = std::max(max_diff, double(std::fabs(pv.data<float>()[(t * 3 + c) * 336 * 336 + i] - want)));
      }
  EXPECT_LE(max_diff, 1e-6);
}

TEST(PreprocessCli, BadInputsGiveOneLineErrorsAndExitCode4) {
  const std::string dir = test::temp_dir("preprocess-cli-bad");
  test::write_text(dir + "/notes.png", "these are not pixels");
  test::write_text(dir + "/empty.jpg", "");
  for (const std::string& bad : {dir + "/missing.png", dir, dir + "/notes.png", dir + "/empty.jpg",
                                 golden("formats/zip_bomb_20000x20000.png")}) {
    SCOPED_TRACE(bad);
    const auto r = test::run_cli({"preprocess", "--image", bad});
    EXPECT_EQ(r.exit_code, 4) << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_EQ(r.err.rfind("minimax-vl: error: image '", 0), 0u) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
  const auto cap = test::run_cli({"preprocess", "--image", golden("images/rgb_97x61.png"), "--max-image-pixels", "100"});
  EXPECT_EQ(cap.exit_code, 4);
  EXPECT_NE(cap.err.find("--max-image-pixels"), std::string::npos) << cap.err;
}

TEST(PreprocessCli, UsageAndModelErrors) {
  EXPECT_EQ(test::run_cli({"preprocess"}).exit_code, 2);  // --image is required
  EXPECT_EQ(test::run_cli({"preprocess", "--image", golden("images/rgb_97x61.png"), "--pillow-pass-order", "x"}).exit_code,
            2);
  const auto r = test::run_cli({"preprocess", "--image", golden("images/rgb_97x61.png"), "--model",
                                test::temp_dir("no-model") + "/nothing"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
}

}  // namespace
}  // namespace mvl
