// `minimax-vl bench` argument handling without running a benchmark: missing --random-weights,
// bad --path / --layers / --batch / --config values are usage errors (exit 2), a malformed
// config is bad input (exit 4), --help teaches the sections and flags, and without a usable
// GPU (or without the CUDA backend) the command stops with one clear line (exit 1).
#include <algorithm>
#include <fstream>

#include "tests/support/test_util.h"

namespace mvl {
namespace {

using test::run_cli;

const std::string kTinyConfig = "tests/golden/text/l2s1_hd16_b8/released/config.json";  // 3 layers

int lines(const std::string& s) {
  return static_cast<int>(std::count(s.begin(), s.end(), '\n'));
}

TEST(BenchCli, UsageErrorsExitTwo) {
  const std::string cfg = test::source_path(kTinyConfig);
  struct Case {
    std::vector<std::string> args;
    std::string says;  // a piece of the message
  };
  const std::vector<Case> cases = {
      {{"bench", "--config", cfg}, "--random-weights"},
      {{"bench", "--random-weights", "--config", cfg, "--path", "everything"}, "--path"},
      {{"bench", "--random-weights", "--config", cfg, "--layers", "0"}, "--layers"},
      {{"bench", "--random-weights", "--config", cfg, "--layers", "5"}, "exceeds the 3 layers"},
      {{"bench", "--random-weights", "--config", cfg, "--decode-steps", "0"}, "--decode-steps"},
      {{"bench", "--random-weights", "--config", cfg, "--batch", "65"}, "--batch"},
      {{"bench", "--random-weights", "--config", cfg, "--tokens", "0"}, "--tokens"},
      {{"bench", "--random-weights", "--config", cfg, "--tp", "0"}, "--tp"},
      {{"bench", "--random-weights", "--config", cfg, "--tp", "2"}, "pass --path model"},
      {{"bench", "--random-weights", "--config", cfg, "--path", "kernels", "--rank-moe",
        "kernels"},
       "--rank-moe belongs to --path model"},
      {{"bench", "--random-weights", "--config", cfg, "--path", "model", "--rank-moe", "fast"},
       "--rank-moe"},
      {{"bench", "--random-weights", "--config", test::temp_dir("bench-none") + "/missing.json"},
       "--config"},
  };
  for (const Case& c : cases) {
    const auto r = run_cli(c.args);
    std::string joined;
    for (const auto& a : c.args) joined += a + " ";
    EXPECT_EQ(r.exit_code, 2) << joined << "\n" << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << joined << "\n" << r.err;
  }
}

TEST(BenchCli, MalformedConfigIsBadInput) {
  const std::string path = test::temp_dir("bench-cfg") + "/config.json";
  std::ofstream(path) << "{\"text_config\": {\"hidden_size\": \"wide\"}}";
  const auto r = run_cli({"bench", "--random-weights", "--config", path});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_EQ(lines(r.err), 1) << r.err;
}

TEST(BenchCli, HelpTeachesTheSectionsAndFlags) {
  const auto r = run_cli({"bench", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* s :
       {"--random-weights", "--path", "--layers", "--tokens", "--decode-steps", "--reps", "--tp",
        "TextModel", "replica", "layers fit", "CUDA graphs", "bytes floor"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s << "\n" << r.out;
}

TEST(BenchCli, WithoutAGpuOneClearLine) {
  if (test::gpu_available()) GTEST_SKIP() << "a GPU is usable here: bench would run";
  for (const char* path : {"model", "kernels", "both"}) {
    const auto r = run_cli({"bench", "--random-weights", "--config", test::source_path(kTinyConfig),
                            "--path", path, "--layers", "1", "--tokens", "8"});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_EQ(lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find("bench needs a CUDA GPU"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace mvl
