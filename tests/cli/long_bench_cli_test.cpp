// `minimax-vl bench --path long` on the CPU at tiny shapes (issue 21 item 2): the path the
// 1M-token GPU run takes (random weights, an Engine raw request fed in timed prefill calls
// split into ubatch passes, decode at the full context) runs end to end and prints one row
// per chunk (covering the prompt exactly), the decode median and the memory plan; a chunk
// larger than the prompt gives one row; bad flags are usage errors. Timings never asserted.
#include <regex>

#include "tests/support/test_util.h"

namespace mvl {
namespace {

using test::run_cli;

const std::string kTinyConfig = "tests/golden/text/l2s1_hd16_b8/released/config.json";  // 2 lightning + 1 softmax

std::vector<std::string> chunk_rows(const std::string& out) {
  std::vector<std::string> rows;
  const std::regex row(R"(^\d+\s+(\d+)\.\.(\d+)\s+[0-9.]+\s+\d+$)");
  size_t at = 0;
  while (at < out.size()) {
    const size_t nl = out.find('\n', at);
    const std::string line = out.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
    std::smatch m;
    if (std::regex_match(line, m, row)) rows.push_back(m[1].str() + ".." + m[2].str());
    if (nl == std::string::npos) break;
    at = nl + 1;
  }
  return rows;
}

TEST(LongBenchCli, RunsOnTheCpuInTimedChunks) {
  const auto r = run_cli({"bench", "--random-weights", "--path", "long", "--device", "cpu", "--config",
                          test::source_path(kTinyConfig), "--layers", "3", "--tokens", "256", "--chunk", "64",
                          "--ubatch-size", "24", "--decode-steps", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("3 layers (2 lightning + 1 softmax)"), std::string::npos) << r.out;
  EXPECT_EQ(chunk_rows(r.out), (std::vector<std::string>{"0..64", "64..128", "128..192", "192..256"})) << r.out;
  EXPECT_NE(r.out.find("decode at 256 context: median"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("over 3 steps"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("memory plan: weights"), std::string::npos) << r.out;
}

TEST(LongBenchCli, AChunkLongerThanThePromptIsOneRow) {
  const auto r = run_cli({"bench", "--random-weights", "--path", "long", "--device", "cpu", "--config",
                          test::source_path(kTinyConfig), "--layers", "2", "--tokens", "50", "--chunk", "4096",
                          "--decode-steps", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("2 layers (2 lightning + 0 softmax)"), std::string::npos) << r.out;
  EXPECT_EQ(chunk_rows(r.out), (std::vector<std::string>{"0..50"})) << r.out;
}

TEST(LongBenchCli, OtherPathsStillNeedAGpuAndLongRefusesTp) {
  const std::string cfg = test::source_path(kTinyConfig);
  auto r = run_cli({"bench", "--random-weights", "--path", "model", "--device", "cpu", "--config", cfg});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("only --path long and vl run on the CPU"), std::string::npos) << r.err;
  r = run_cli({"bench", "--random-weights", "--path", "long", "--device", "cpu", "--config", cfg, "--layers", "3",
               "--tp", "2"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--tp 2"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace mvl
