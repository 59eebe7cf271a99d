// `logits --tp N`: the text model split over N CPU ranks (LocalComm threads) gives the
// single-device logits within 1e-5 of max |logit|, on a text golden, on the bundled tiny VL
// model with two images in the prompt and on the VL golden's two-image case; a size that does not split the model is refused
// with the sizes that do.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "kernels/core/json.h"
#include "kernels/core/safetensors.h"
#include "tests/support/test_util.h"

namespace mvl {
namespace {

using test::run_cli;
using test::source_path;

constexpr int kImageId = 3005;  // `<image>` in assets/models/tiny-random's tokenizer

Tensor run_logits(const std::vector<std::string>& extra, const std::string& ids, int tp) {
  const std::string dir = test::temp_dir("tp-cli");
  test::write_text(dir + "/ids.txt", ids);
  std::vector<std::string> args = {
      "logits",   "--ids", dir + "/ids.txt", "--out",           dir + "/out.safetensors",
      "--device", "cpu",   "--tp",           std::to_string(tp)};
  args.insert(args.end(), extra.begin(), extra.end());
  const auto r = run_cli(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return contiguous(SafetensorsFile::open(dir + "/out.safetensors")->get("logits"));
}

TEST(TpCli, TextGoldenLogitsMatchOneDevice) {
  const std::vector<std::string> model = {"-m",
                                          source_path("tests/golden/text/l2s1_hd16_b8/released")};
  const std::string ids =
      "3 141 59 26 5 35 89 79 32 38 46 26 43 38 32 79 50 28 8 41 97 169 39 9 37";
  const Tensor one = run_logits(model, ids, 1);
  for (int tp : {2, 4}) EXPECT_LE(test::rel_to_max(run_logits(model, ids, tp), one), 1e-5) << "tp " << tp;
}

TEST(TpCli, TinyVlModelWithImagesMatchesOneDevice) {
  const std::vector<std::string> images = {
      "-m", source_path("assets/models/tiny-random"),
      "--image", source_path("tests/golden/vision/images/rgb_exact_336x336.png"), "--image",
      source_path("tests/golden/vision/images/rgb_tiny_20x15.png")};
  const std::string ids =
      "10 20 " + std::to_string(kImageId) + " 30 " + std::to_string(kImageId) + " 40 50";
  const Tensor one = run_logits(images, ids, 1);
  ASSERT_GT(one.dim(0), 7);  // the images' rows are in the sequence
  for (int tp : {2, 4}) EXPECT_LE(test::rel_to_max(run_logits(images, ids, tp), one), 1e-5) << "tp " << tp;
}

// The end-to-end VL golden (tests/golden/vl: the reference's checkpoint and its two-image case,
// 3235 positions): every position's logits over 2 and 4 ranks equal one device's.
TEST(TpCli, VlGoldenTwoImageCaseMatchesOneDevice) {
  const json::Json c =
      json::parse_file(source_path("tests/golden/vl/manifest.json")).at("cases").at("two_images");
  std::vector<std::string> args = {"-m", source_path("tests/golden/vl/model")};
  for (const auto& p : c.at("images"))
    args.insert(args.end(), {"--image", source_path("tests/golden/vl/" + p.get<std::string>())});
  std::string ids;
  for (const auto& i : c.at("ids")) ids += std::to_string(i.get<int32_t>()) + " ";
  const Tensor one = run_logits(args, ids, 1);
  ASSERT_EQ(one.dim(0), c.at("positions").get<int64_t>());
  for (int tp : {2, 4}) EXPECT_LE(test::rel_to_max(run_logits(args, ids, tp), one), 1e-5) << "tp " << tp;
}

TEST(TpCli, RefusesASizeThatDoesNotSplitTheModel) {
  const std::string dir = test::temp_dir("tp-cli-bad");
  test::write_text(dir + "/ids.txt", "1 2 3");
  const auto r =
      run_cli({"logits", "-m", source_path("assets/models/tiny-random"), "--ids", dir + "/ids.txt",
               "--out", dir + "/o.safetensors", "--tp", "3"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("use one of 1, 2, 4"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace mvl
