// `ask --device cuda` on the bundled tiny model: with --precision f32 the same greedy answer
// as on the CPU, with an image (ViT + projector + text model all on the GPU); the default
// (bf16) runs and reports its precision. Labelled gpu by its name: skips without a GPU,
// fails under MVL_REQUIRE_GPU=1.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/test_util.h"

namespace mvl {
namespace {

nlohmann::json ask(const std::string& device, const std::string& precision = "") {
  std::vector<std::string> args = {"ask", "--device", device, "--image",
                                   test::source_path("tests/golden/vision/images/rgb_500x300.png"), "-n", "24",
                                   "--json", "What is in this image?"};
  if (!precision.empty()) args.insert(args.begin() + 1, {"--precision", precision});
  const auto r = test::run_cli(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(r.out);
}

TEST(AskCuda, GreedyAnswerWithImageMatchesCpu) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const nlohmann::json cpu = ask("cpu");
  const nlohmann::json gpu = ask("cuda", "f32");
  EXPECT_EQ(cpu.at("model").at("precision"), "f32");
  EXPECT_EQ(gpu.at("model").at("precision"), "f32");
  EXPECT_EQ(gpu.at("answer"), cpu.at("answer"));
  EXPECT_EQ(gpu.at("usage"), cpu.at("usage"));
  EXPECT_EQ(gpu.at("images").at(0).at("image_tokens"), cpu.at("images").at(0).at("image_tokens"));
}

TEST(AskCuda, DefaultIsBf16OnCuda) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const nlohmann::json gpu = ask("cuda");
  EXPECT_EQ(gpu.at("model").at("precision"), "bf16");
  EXPECT_TRUE(gpu.at("answer").is_string());  // may differ from the CPU's where logits nearly tie
}

TEST(AskCuda, Bf16OnTheCpuAndBadPrecisionAreRefused) {
  const auto bad = test::run_cli({"ask", "--precision", "fp8", "hello"});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  const auto cpu = test::run_cli({"ask", "--device", "cpu", "--precision", "bf16", "hello"});
  EXPECT_EQ(cpu.exit_code, 3) << cpu.err;  // a model-load error naming the fix
  EXPECT_NE(cpu.err.find("f32"), std::string::npos) << cpu.err;
}

TEST(AskCuda, BadDeviceIsAUsageError) {
  const auto r = test::run_cli({"ask", "--device", "tpu", "hello"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--device 'tpu'"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace mvl
