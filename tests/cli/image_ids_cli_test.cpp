// `logits --image` and `generate --ids --image`: each image token id in the ids is expanded
// to that image's token count and replaced by its features, in order (issue 6).
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "kernels/core/safetensors.h"
#include "tests/support/test_util.h"

namespace mvl {
namespace {

using test::run_cli;
using test::source_path;

constexpr int kImageId = 3005;  // `<image>` in assets/models/tiny-random's tokenizer

std::string tiny() { return source_path("assets/models/tiny-random"); }
std::string image_a() { return source_path("tests/golden/vision/images/rgb_exact_336x336.png"); }
std::string image_b() { return source_path("tests/golden/vision/images/rgb_tiny_20x15.png"); }

int64_t image_tokens_of(const std::string& path) {
  const auto r = run_cli({"preprocess", "--image", path, "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(r.out).at("image_tokens").get<int64_t>();
}

Tensor run_logits(const std::string& ids, const std::vector<std::string>& images) {
  const std::string dir = test::temp_dir("image-ids");
  test::write_text(dir + "/ids.txt", ids);
  std::vector<std::string> args = {"logits", "-m", tiny(), "--ids", dir + "/ids.txt", "--out", dir + "/out.safetensors"};
  for (const auto& im : images) {
    args.push_back("--image");
    args.push_back(im);
  }
  const auto r = run_cli(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return contiguous(SafetensorsFile::open(dir + "/out.safetensors")->get("logits"));
}

float max_abs_diff(const Tensor& a, const Tensor& b, int64_t rows) {
  float m = 0;
  const int64_t v = a.dim(1);
  for (int64_t i = 0; i < rows * v; ++i) m = std::max(m, std::fabs(a.data<float>()[i] - b.data<float>()[i]));
  return m;
}

TEST(ImageIdsCli, LogitsRowsCoverTheExpandedSequence) {
  const int64_t na = image_tokens_of(image_a()), nb = image_tokens_of(image_b());
  const std::string ids = "10 20 " + std::to_string(kImageId) + " 30 " + std::to_string(kImageId) + " 40";
  const Tensor with = run_logits(ids, {image_a(), image_b()});
  ASSERT_EQ(with.ndim(), 2);
  EXPECT_EQ(with.dim(0), 4 + na + nb);  // 4 text tokens + both images' rows

  // Causality: the two text rows before the first image equal a text-only run of them.
  const Tensor prefix = run_logits("10 20", {});
  EXPECT_EQ(max_abs_diff(with, prefix, 2), 0.0f);

  // Swapping the images changes what follows them (the features really are spliced in).
  const Tensor swapped = run_logits(ids, {image_b(), image_a()});
  ASSERT_EQ(swapped.dim(0), with.dim(0));
  const int64_t last = with.dim(0) - 1, v = with.dim(1);
  float d = 0;
  for (int64_t j = 0; j < v; ++j)
    d = std::max(d, std::fabs(with.data<float>()[last * v + j] - swapped.data<float>()[last * v + j]));
  EXPECT_GT(d, 1e-4f);
}

TEST(ImageIdsCli, CountMismatchIsBadInput) {
  const std::string dir = test::temp_dir("image-ids-bad");
  test::write_text(dir + "/ids.txt", "1 2 " + std::to_string(kImageId));
  const auto r = run_cli({"logits", "-m", tiny(), "--ids", dir + "/ids.txt", "--out", dir + "/o.safetensors"});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_NE(r.err.find("1 image token"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  const auto bad = run_cli({"logits", "-m", tiny(), "--ids", dir + "/ids.txt", "--out", dir + "/o.safetensors", "--image",
                            dir + "/missing.png"});
  EXPECT_EQ(bad.exit_code, 4);
  EXPECT_NE(bad.err.find("missing.png"), std::string::npos) << bad.err;
}

TEST(ImageIdsCli, GenerateIdsWithImageMatchesLogitsArgmax) {
  const std::string dir = test::temp_dir("image-ids-gen");
  const std::string ids = "10 " + std::to_string(kImageId) + " 30";
  test::write_text(dir + "/ids.txt", ids);
  const auto r = run_cli({"generate", "-m", tiny(), "--ids", dir + "/ids.txt", "--image", image_b(), "-n", "1", "--print-ids",
                          "--ignore-eos"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Tensor logits = run_logits(ids, {image_b()});
  const int64_t last = logits.dim(0) - 1, v = logits.dim(1);
  int64_t best = 0;
  for (int64_t j = 1; j < v; ++j)
    if (logits.data<float>()[last * v + j] > logits.data<float>()[last * v + best]) best = j;
  EXPECT_EQ(std::stoll(r.out), best);
}

}  // namespace
}  // namespace mvl
