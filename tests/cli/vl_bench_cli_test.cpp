// `minimax-vl bench --path vl` on the CPU at tiny shapes (issue 21 item 1): the image question
// the GPU run times (random weights for the vision half and a text slice, one Engine, raw
// requests with an image slot, one token sampled) runs end to end on generated PNGs and on a
// given file, prints every stage with a positive median, and its token counts agree with what
// `preprocess` says for the same file (image tokens, tiles, grid) and with the prompt (image +
// question ids). Bad flags are usage errors. Timings are never compared with anything.
#include <filesystem>
#include <map>
#include <regex>

#include "kernels/core/json.h"
#include "tests/support/test_util.h"

namespace mvl {
namespace {

namespace fs = std::filesystem;
using test::run_cli;

const std::string kTinyConfig = "assets/models/tiny-random/config.json";

std::vector<std::string> lines_of(const std::string& out) {
  std::vector<std::string> v;
  size_t at = 0;
  while (at < out.size()) {
    const size_t nl = out.find('\n', at);
    v.push_back(out.substr(at, nl == std::string::npos ? std::string::npos : nl - at));
    if (nl == std::string::npos) break;
    at = nl + 1;
  }
  return v;
}

// One image's block: the stage medians by name and the `result:` fields.
struct Block {
  std::map<std::string, double> stages;
  std::map<std::string, std::string> result;
};

std::vector<Block> blocks(const std::string& out) {
  std::vector<Block> b;
  const std::regex stage(R"(^(image decode|preprocess \(tiles \+ thumbnail\)|vit|projector \+ pack|prefill|first token \(sample \+ rest\)|TTFT of the staged requests|TTFT)\s+(-?[0-9.]+)\b.*$)");
  const std::regex field(R"((\w+)=(\S+))");
  for (const std::string& l : lines_of(out)) {
    if (l.rfind("== ", 0) == 0 && l.find(" prompt positions in ") != std::string::npos) b.emplace_back();
    if (b.empty()) continue;
    std::smatch m;
    if (std::regex_match(l, m, stage)) b.back().stages[m[1].str()] = std::stod(m[2].str());
    if (l.rfind("result: ", 0) == 0)
      for (std::sregex_iterator it(l.begin(), l.end(), field), end; it != end; ++it)
        b.back().result[(*it)[1].str()] = (*it)[2].str();
  }
  return b;
}

json::Json preprocess_json(const std::string& image) {
  const auto r = run_cli({"preprocess", "-i", image, "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return json::parse(r.out, "preprocess --json");
}

void expect_consistent(const Block& b, const std::string& what) {
  for (const char* s : {"image decode", "preprocess (tiles + thumbnail)", "vit", "projector + pack", "prefill",
                        "first token (sample + rest)", "TTFT of the staged requests", "TTFT"}) {
    ASSERT_TRUE(b.stages.count(s)) << what << ": no stage line '" << s << "'";
    EXPECT_GT(b.stages.at(s), 0.0) << what << ": " << s;
  }
  ASSERT_TRUE(b.result.count("file")) << what;
  const json::Json p = preprocess_json(b.result.at("file"));
  const int64_t image_tokens = std::stoll(b.result.at("image_tokens"));
  EXPECT_EQ(image_tokens, p.at("image_tokens").get<int64_t>()) << what;
  EXPECT_EQ(std::stoll(b.result.at("tiles")), p.at("tiles").get<int64_t>()) << what;
  EXPECT_EQ(b.result.at("grid"), std::to_string(p.at("grid")[0].get<int64_t>()) + "x" + std::to_string(p.at("grid")[1].get<int64_t>()))
      << what;
  EXPECT_EQ(std::stoll(b.result.at("width")), p.at("width").get<int64_t>()) << what;
  EXPECT_EQ(std::stoll(b.result.at("height")), p.at("height").get<int64_t>()) << what;
  EXPECT_EQ(std::stoll(b.result.at("prompt_tokens")), image_tokens + std::stoll(b.result.at("text_tokens"))) << what;
}

TEST(VlBenchCli, GeneratedImagesRunEveryStageWithTheProcessorsTokenCounts) {
  const std::string dir = test::temp_dir("vl_bench_gen");
  const auto r = run_cli({"bench", "--random-weights", "--path", "vl", "--device", "cpu", "--config",
                          test::source_path(kTinyConfig), "--layers", "4", "--size", "700x420", "--size", "300x900",
                          "--reps", "2", "--images-dir", dir});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("4 text layers (3 lightning + 1 softmax)"), std::string::npos) << r.out;
  const std::vector<Block> b = blocks(r.out);
  ASSERT_EQ(b.size(), 2u) << r.out;
  EXPECT_EQ(b[0].result.at("label"), "page_700x420");
  EXPECT_EQ(b[1].result.at("label"), "scan_300x900");
  for (const Block& x : b) expect_consistent(x, r.out);
  // The two sizes take different grids, so the counts are not one constant.
  EXPECT_NE(b[0].result.at("image_tokens"), b[1].result.at("image_tokens"));
  EXPECT_TRUE(fs::exists(dir + "/page_700x420.png"));
  EXPECT_NE(r.out.find("cpu share: decode + preprocess"), std::string::npos) << r.out;
}

TEST(VlBenchCli, AGivenFileAndOneCallPrefill) {
  const std::string image = test::source_path("docs/images/tall_receipt.png");
  const auto r = run_cli({"bench", "--random-weights", "--path", "vl", "--device", "cpu", "--config",
                          test::source_path(kTinyConfig), "--layers", "2", "--image", image, "--reps", "1",
                          "--chunk", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  const std::vector<Block> b = blocks(r.out);
  ASSERT_EQ(b.size(), 1u) << r.out;
  EXPECT_EQ(b[0].result.at("label"), "tall_receipt.png");
  expect_consistent(b[0], r.out);
  EXPECT_NE(r.out.find("prompt positions in 1 prefill call\n"), std::string::npos) << r.out;
}

TEST(VlBenchCli, BadFlagsAreUsageErrors) {
  const std::string cfg = test::source_path(kTinyConfig);
  auto r = run_cli({"bench", "--random-weights", "--path", "vl", "--device", "cpu", "--config", cfg, "--size", "12by7"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("WIDTHxHEIGHT"), std::string::npos) << r.err;
  r = run_cli({"bench", "--random-weights", "--path", "long", "--device", "cpu", "--config", cfg, "--size", "30x30"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("belong to --path vl"), std::string::npos) << r.err;
  r = run_cli({"bench", "--random-weights", "--path", "vl", "--device", "cpu", "--config", cfg, "--layers", "9"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
}

}  // namespace
}  // namespace mvl
