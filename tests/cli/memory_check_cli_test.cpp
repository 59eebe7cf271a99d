// The pre-load memory check: a checkpoint whose weights cannot fit the chosen device is
// refused at once (before any shard is opened), exit 3, with one line naming the bytes needed and available.
// The released config with no weights at all stands in for the 913 GB checkpoint: the check
// must come before any shard is opened (otherwise the error would be a missing file).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <regex>

#include "tests/support/test_util.h"

namespace mvl {
namespace {

namespace fs = std::filesystem;

std::string released_config_only() {
  const std::string dir = test::temp_dir("released-config-only");
  fs::copy_file(test::source_path("configs/minimax-vl-01.json"), fs::path(dir) / "config.json",
                fs::copy_options::overwrite_existing);
  return dir;
}

void expect_refused(const std::vector<std::string>& args, const std::string& device_word) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = test::run_cli(args);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.exit_code, 3) << r.err;
  // No timing assertion (timings are never CI assertions); the message below proves the check
  // ran before any shard was looked for, since this folder has none.
  std::printf("refused in %.3f s\n", s);
  // One line: "minimax-vl: error: loading model '...': the model needs X GiB (N B: ...) but cpu has Y (M B) ..."
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_TRUE(std::regex_search(r.err, std::regex(R"(needs [0-9.]+ GiB \([0-9]+ B)"))) << r.err;
  EXPECT_TRUE(std::regex_search(r.err, std::regex(device_word + R"( has [0-9.]+ \w+ \([0-9]+ B\))"))) << r.err;
}

TEST(MemoryCheckCli, ReleasedModelIsRefusedOnTheCpuAtOnce) {
  expect_refused({"ask", "-m", released_config_only(), "What is the total?"}, "cpu");
}

TEST(MemoryCheckCli, ReleasedModelIsRefusedOnOneGpuAtOnce) {
  if (!test::gpu_available()) {
    if (test::gpu_required()) FAIL() << "MVL_REQUIRE_GPU=1 but no GPU";
    GTEST_SKIP() << "no GPU";
  }
  expect_refused({"ask", "--device", "cuda", "-m", released_config_only(), "What is the total?"}, "cuda:0");
}

TEST(MemoryCheckCli, TinyModelStillLoads) {
  const auto r = test::run_cli({"ask", "-n", "2", "What is the total?"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

}  // namespace
}  // namespace mvl
