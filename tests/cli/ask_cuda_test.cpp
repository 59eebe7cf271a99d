// `ask --device cuda` on the bundled tiny model: the same greedy answer as on the CPU, with
// an image (ViT + projector + text model all on the GPU). Labelled gpu by its name: skips
// without a GPU, fails under MVL_REQUIRE_GPU=1.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/test_util.h"

namespace mvl {
namespace {

nlohmann::json ask(const std::string& device) {
  const auto r = test::run_cli({"ask", "--device", device, "--image",
                                test::source_path("tests/golden/vision/images/rgb_500x300.png"), "-n", "24",
                                "--json", "What is in this image?"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(r.out);
}

TEST(AskCuda, GreedyAnswerWithImageMatchesCpu) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const nlohmann::json cpu = ask("cpu");
  const nlohmann::json gpu = ask("cuda");
  EXPECT_EQ(gpu.at("answer"), cpu.at("answer"));
  EXPECT_EQ(gpu.at("usage"), cpu.at("usage"));
  EXPECT_EQ(gpu.at("images").at(0).at("image_tokens"), cpu.at("images").at(0).at("image_tokens"));
}

TEST(AskCuda, BadDeviceIsAUsageError) {
  const auto r = test::run_cli({"ask", "--device", "tpu", "hello"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--device 'tpu'"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace mvl
